"""The text model: modality tokens spliced into the prompt, answers learnt and generated."""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

from fusion.constants import IGNORE_INDEX, PLACEHOLDER_TOKENS
from fusion.data.datamodule import FusionDataModule
from fusion.fkg.loader import load_fkg
from fusion.heads.text.answers import turns
from fusion.models.backbone import load_backbone
from fusion.models.text import TextModel


def build(config: dict) -> TextModel:
    return TextModel.from_config(config["model"], load_fkg())


@pytest.fixture(scope="module")
def setting(flex_root, tmp_path_factory, text_config):
    """(config, a training batch of 4, its reference turns) on the 12-sample FLEX fixture."""
    config = text_config(flex_root, tmp_path_factory.mktemp("cache"))
    datamodule = FusionDataModule(config["data"], progress=False)
    datamodule.setup()
    torch.manual_seed(0)
    batch = datamodule.on_after_batch_transfer(next(iter(datamodule.train_dataloader())), 0)
    per_row = turns(load_fkg(), batch, "study", "errors", False, [0, 1, 2, 0])
    return config, batch, [row[0] for row in per_row]


def test_placeholders_get_the_projected_tokens_and_only_the_answer_is_labelled(setting):
    config, batch, asked = setting
    torch.manual_seed(0)
    model = build(config).eval()
    encoded = model.encode(batch)
    assert set(encoded.tokens) == {"physio", "pose"}
    assert encoded.tokens["pose"].shape == (4, 8, 64)  # tokens_per_modality x LM width
    questions, answers = [t.question for t in asked], [t.answer for t in asked]
    samples = model._spliced(encoded, questions, answers)
    for row, sample in enumerate(samples):
        prompt = model.prompt_ids(["physio", "pose"], questions[row])
        answer = model.answer_ids(batch["key"][row], answers[row])
        assert answer[-1] == model.tokenizer.eos_token_id
        assert len(sample.labels) == len(prompt) - 2 + 16 + len(answer)
        at = prompt.index(model.placeholder_ids["physio"])
        assert torch.equal(sample.embeds[at : at + 8], encoded.tokens["physio"][row])
        at = prompt.index(model.placeholder_ids["pose"]) + 7  # after physio's 8 rows
        assert torch.equal(sample.embeds[at : at + 8], encoded.tokens["pose"][row])
        prompt_rows = len(sample.labels) - len(answer)
        assert (sample.labels[:prompt_rows] == IGNORE_INDEX).all()
        assert sample.labels[prompt_rows:].tolist() == answer
        text = model.tokenizer.decode(prompt)
        assert text.startswith(PLACEHOLDER_TOKENS["physio"] + PLACEHOLDER_TOKENS["pose"])


def test_a_sample_without_a_modality_gets_no_placeholder_for_it(setting):
    config, batch, asked = setting
    model = build(config).eval()
    partial = dict(batch)
    partial["physio_mask"] = batch["physio_mask"].clone()
    partial["physio_mask"][1] = False
    encoded = model.encode(partial)
    samples = model._spliced(encoded, [t.question for t in asked], [t.answer for t in asked])
    full = model._spliced(
        model.encode(batch), [t.question for t in asked], [t.answer for t in asked]
    )
    assert len(samples[1].labels) == len(full[1].labels) - 8  # its 8 rows replaced one id
    assert len(samples[0].labels) == len(full[0].labels)


def test_the_tiny_lm_memorises_four_exact_answers(setting):
    config, batch, asked = setting
    torch.manual_seed(0)
    model = build(config)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    questions, answers = [t.question for t in asked], [t.answer for t in asked]
    assert len(set(answers)) > 1, "the check needs answers that differ between samples"
    for _ in range(200):
        loss = model.loss(model.encode(batch), questions, answers)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    assert loss.item() < 0.02
    assert model.generate(model.encode(batch), questions, max_new_tokens=64) == answers


def test_an_answer_that_does_not_fit_is_an_error_naming_the_sample(setting):
    config, batch, asked = setting
    config = {**config, "model": {**config["model"], "lm": {**config["model"]["lm"]}}}
    config["model"]["lm"]["max_length"] = 40
    model = build(config)
    with pytest.raises(ValueError, match=rf"{batch['key'][0]}: \d+ positions .* exceed max_length"):
        model.loss(model.encode(batch), [t.question for t in asked], [t.answer for t in asked])


def test_an_answer_the_tokenizer_cannot_say_is_an_error(setting, tmp_path):
    config, batch, asked = setting
    words = ["[UNK]", "<eos>", "<pad>", "the", "person", "is", "performing"]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<eos>", pad_token="<pad>", unk_token="[UNK]"
    )
    tokenizer.save_pretrained(tmp_path)
    lm = Qwen2ForCausalLM(
        Qwen2Config(vocab_size=16, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                    num_attention_heads=2, num_key_value_heads=1)
    )  # fmt: skip
    lm.save_pretrained(tmp_path)
    local = {**config, "model": {**config["model"], "lm": {**config["model"]["lm"]}}}
    local["model"]["lm"]["pretrained"] = str(tmp_path)
    model = build(local)
    assert model.tokenizer.convert_tokens_to_ids("<pose>") >= len(words)
    with pytest.raises(ValueError, match=rf"{batch['key'][0]}: the answer .* is mis-tokenised"):
        model.loss(model.encode(batch), [t.question for t in asked], [t.answer for t in asked])


def test_tunable_parts_freeze_the_rest_and_keep_it_in_eval_mode(setting):
    config, _, _ = setting
    frozen = {**config, "model": {**config["model"], "tunable_parts": ["projector"]}}
    model = build(frozen).train()
    assert all(p.requires_grad for p in model.projector.parameters())
    assert not any(p.requires_grad for p in model.lm.parameters())
    assert not any(p.requires_grad for p in model.encoders.parameters())
    assert not model.encoders.training and not model.lm.training and model.projector.training
    lora = {**frozen["model"], "lora": {**frozen["model"]["lora"], "r": 4}}
    adapted = build({**frozen, "model": lora}).train()
    trainable = [n for n, p in adapted.lm.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable) and adapted.lm.training
    with pytest.raises(ValueError, match="leave it out"):
        build({**frozen, "model": {**lora, "tunable_parts": ["lm"]}})
    with pytest.raises(ValueError, match="unknown vision"):
        build({**frozen, "model": {**frozen["model"], "tunable_parts": ["vision"]}})


def save_as_checkpoint(model: TextModel, path) -> None:
    """A Lightning-style checkpoint of a task whose `model` is `model`."""
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "hyper_parameters": {"config": {}}}, path)


def test_encoders_and_fuser_start_from_another_runs_checkpoint(setting, tmp_path):
    config, _, _ = setting
    torch.manual_seed(1)
    trained = build(config)
    torch.manual_seed(2)
    model = build(config)
    lm_before = {k: v.clone() for k, v in model.lm.state_dict().items()}
    path = tmp_path / "aqa.ckpt"
    save_as_checkpoint(trained, path)
    copied = load_backbone(model, path)
    assert copied == len(model.encoders.state_dict()) + len(model.fuser.state_dict())
    for part in ("encoders", "fuser"):
        mine, theirs = getattr(model, part).state_dict(), getattr(trained, part).state_dict()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    assert all(torch.equal(lm_before[k], v) for k, v in model.lm.state_dict().items())
    with pytest.raises(ValueError, match="no such checkpoint"):
        load_backbone(model, tmp_path / "none.ckpt")
    narrow = {**config, "model": {**config["model"], "modalities": ["pose"]}}
    save_as_checkpoint(build(narrow), path)
    with pytest.raises(ValueError, match="lacks .* encoders/fuser weights"):
        load_backbone(model, path)
    wide = {**config, "model": {**config["model"], "dim": 48}}
    save_as_checkpoint(build(wide), path)
    with pytest.raises(ValueError, match="use the same encoders/fuser options"):
        load_backbone(model, path)
