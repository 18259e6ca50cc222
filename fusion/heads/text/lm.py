"""The text head's causal LM: the tiny default Qwen2, or any local Hugging Face checkpoint.

The default is a Qwen2-architecture model with random weights, sized by `model.lm`, over the
tokenizer of `fusion.heads.text.tokenizer`. `model.lm.pretrained: PATH` loads a folder written
by `save_pretrained` (a Qwen2 instruct model, say) with its own tokenizer instead; the modality
placeholders are added to that tokenizer and the embedding grows to hold them. LoRA adapters
come from peft.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from peft import LoraConfig, get_peft_model
from transformers import (
    AutoModelForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)
from transformers.utils import logging as hf_logging

from fusion.constants import PLACEHOLDER_TOKENS
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.heads.text.tokenizer import build_tokenizer

hf_logging.disable_progress_bar()


def build_language_model(
    lm: Mapping[str, Any], fkg: FitnessKnowledgeGraph
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The LM and its tokenizer from a `model.lm` config; both know the placeholder tokens."""
    if lm.get("pretrained"):
        return load_pretrained(Path(lm["pretrained"]))
    tokenizer = build_tokenizer(fkg, int(lm["vocab_size"]))
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=int(lm["hidden"]),
        intermediate_size=int(lm["intermediate"]),
        num_hidden_layers=int(lm["layers"]),
        num_attention_heads=int(lm["heads"]),
        num_key_value_heads=int(lm["kv_heads"]),
        max_position_embeddings=int(lm["max_length"]),
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    return Qwen2ForCausalLM(config), tokenizer


def load_pretrained(path: Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A local checkpoint folder (config.json, weights, tokenizer files) with placeholders."""
    if not (path / "config.json").is_file():
        raise ValueError(
            f"model.lm.pretrained: {path} has no config.json; expected a folder written by "
            "save_pretrained (model and tokenizer)"
        )
    if not (path / "tokenizer.json").is_file():
        raise ValueError(
            f"model.lm.pretrained: {path} has no tokenizer.json; save the model's fast "
            "tokenizer there with save_pretrained"
        )
    # Read tokenizer.json as saved: AutoTokenizer would pick the class of the model type
    # (Qwen2Tokenizer for a qwen2 config) and rebuild a different vocabulary around it.
    tokenizer = PreTrainedTokenizerFast.from_pretrained(path)
    missing = [t for t in PLACEHOLDER_TOKENS.values() if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_tokens(missing, special_tokens=True)
    if tokenizer.eos_token is None:
        raise ValueError(f"model.lm.pretrained: the tokenizer in {path} has no eos_token")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path)
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    return model, tokenizer


def with_lora(model: PreTrainedModel, lora: Mapping[str, Any]) -> PreTrainedModel:
    """`model` with LoRA adapters (rank `lora.r`) on `lora.target_modules`; base weights frozen."""
    config = LoraConfig(
        r=int(lora["r"]),
        lora_alpha=int(lora["alpha"]),
        lora_dropout=float(lora["dropout"]),
        target_modules=list(lora["target_modules"]),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)
