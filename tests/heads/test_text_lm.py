"""The text head's tokenizer and LM: built locally, saved and reloaded, or loaded from a folder."""

from __future__ import annotations

import json

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

from fusion.config import LMConfig, LoRAConfig
from fusion.constants import PLACEHOLDER_TOKENS
from fusion.fkg.loader import load_fkg
from fusion.heads.text.lm import build_language_model, load_pretrained, with_lora
from fusion.heads.text.templates import Answer, render_answer
from fusion.heads.text.tokenizer import build_tokenizer, template_corpus, tokenizer_digest

TINY = {**LMConfig().__dict__, "hidden": 32, "intermediate": 64, "heads": 2, "kv_heads": 1}


@pytest.fixture(scope="module")
def fkg():
    return load_fkg()


@pytest.fixture(scope="module")
def tokenizer(fkg):
    return build_tokenizer(fkg)


def test_tokenizer_is_deterministic_and_encodes_every_text_back_exactly(fkg, tokenizer):
    assert tokenizer_digest(build_tokenizer(fkg)) == tokenizer_digest(tokenizer)
    spans = {"knees_inward": (2.62, 14.58)}
    texts = [
        *template_corpus(fkg),
        render_answer(Answer("Barbell Back Squat", ("knees_inward",), spans, 73.0), 1, True),
        "Ünïcode and symbols ~ {} are not in the corpus",
    ]
    for text in texts:
        assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text
    digits = tokenizer("2026", add_special_tokens=False)["input_ids"]
    assert len(digits) == 4  # one token per digit, as in Qwen2
    phrase = tokenizer("The person is performing Barbell Back Squat.")["input_ids"]
    assert len(phrase) < 12  # the BPE merged the corpus words


def test_placeholders_pad_and_eos_are_single_special_tokens(tokenizer):
    for token in PLACEHOLDER_TOKENS.values():
        ids = tokenizer(f"a {token} b", add_special_tokens=False)["input_ids"]
        assert tokenizer.convert_tokens_to_ids(token) in ids
        assert tokenizer.decode(ids, skip_special_tokens=True) == "a  b"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id


def test_save_pretrained_round_trip_gives_the_same_ids_and_logits(fkg, tmp_path):
    torch.manual_seed(0)
    lm, tokenizer = build_language_model(TINY, fkg)
    lm.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    again = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    reread = PreTrainedTokenizerFast.from_pretrained(tmp_path)
    text = "<video>\nWhich exercise is the person performing? The person is performing it."
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    assert torch.equal(reread(text, return_tensors="pt")["input_ids"], ids)
    with torch.no_grad():
        assert torch.allclose(lm.eval()(input_ids=ids).logits, again(input_ids=ids).logits)
    loaded, with_placeholders = load_pretrained(tmp_path)
    assert len(with_placeholders) == len(tokenizer)  # nothing to add: they are there
    assert loaded.get_input_embeddings().num_embeddings == len(tokenizer)


def test_a_pretrained_folder_gets_the_placeholders_and_a_larger_embedding(fkg, tmp_path):
    lm, _ = build_language_model(TINY, fkg)
    core = Tokenizer(models.WordLevel({"[UNK]": 0, "<eos>": 1, "hello": 2}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    plain = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<eos>", unk_token="[UNK]")
    plain.save_pretrained(tmp_path)
    lm.save_pretrained(tmp_path)
    model, tokenizer = load_pretrained(tmp_path)
    assert set(PLACEHOLDER_TOKENS.values()) <= set(tokenizer.get_vocab())
    assert tokenizer.pad_token == "<eos>"
    assert tokenizer("hello there", add_special_tokens=False)["input_ids"] == [2, 0]
    assert model.get_input_embeddings().num_embeddings >= len(tokenizer)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "qwen2"
    with pytest.raises(ValueError, match="has no config.json"):
        load_pretrained(tmp_path / "missing")
    (tmp_path / "tokenizer.json").unlink()
    with pytest.raises(ValueError, match="has no tokenizer.json"):
        load_pretrained(tmp_path)


def test_lora_trains_only_the_adapters(fkg):
    lm, _ = build_language_model(TINY, fkg)
    wrapped = with_lora(lm, {**LoRAConfig().__dict__, "r": 4})
    trainable = [n for n, p in wrapped.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert any("q_proj" in n for n in trainable) and any("o_proj" in n for n in trainable)
