"""The text model: encoders and fuser as in AQA, a projector, and a causal LM that answers.

Each modality's fused tokens are resampled to `tokens_per_modality` points of the repetition
(`fusion.encoders.base.timeline`), projected into the LM's embedding space and spliced in place
of the modality's placeholder in the prompt (LLaVA). A sample lacking a modality gets no
placeholder for it. `tunable_parts` names what trains; the rest is frozen and kept in eval mode.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fusion.constants import PLACEHOLDER_TOKENS
from fusion.encoders.base import Tokens, timeline
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.heads.text.lm import build_language_model, with_lora
from fusion.heads.text.splice import SplicedSample, build_projector, pad_spliced, splice
from fusion.models.backbone import build_backbone, encode

TUNABLE_PARTS: tuple[str, ...] = ("projector", "encoders", "lm")


class TextModel(nn.Module):
    """Batch + one question per sample -> the answer's LM loss, or generated answers."""

    def __init__(
        self,
        modalities: Sequence[str],
        encoders: Mapping[str, Mapping[str, Any]],
        fuser: Mapping[str, Any],
        dim: int,
        projector: str,
        tokens_per_modality: int,
        lm: Mapping[str, Any],
        tunable_parts: Sequence[str],
        lora: Mapping[str, Any],
        fkg: FitnessKnowledgeGraph,
    ) -> None:
        super().__init__()
        self.modalities = tuple(sorted(modalities))
        self.encoders, self.fuser = build_backbone(modalities, encoders, fuser, dim)
        language_model, self.tokenizer = build_language_model(lm, fkg)
        width = language_model.get_input_embeddings().embedding_dim
        self.projector = build_projector(projector, dim, width)
        self.lm = with_lora(language_model, lora) if int(lora["r"]) > 0 else language_model
        self.tokens_per_modality = int(tokens_per_modality)
        self.max_length = int(lm["max_length"])
        self.placeholder_ids = {
            m: self.tokenizer.convert_tokens_to_ids(PLACEHOLDER_TOKENS[m]) for m in self.modalities
        }
        self._freeze(tunable_parts, int(lora["r"]) > 0)

    @classmethod
    def from_config(cls, model: Mapping[str, Any], fkg: FitnessKnowledgeGraph) -> TextModel:
        """The model a run config's `model` section describes."""
        return cls(
            modalities=model["modalities"],
            encoders=model["encoders"],
            fuser=model["fuser"],
            dim=model["dim"],
            projector=model["projector"],
            tokens_per_modality=model["tokens_per_modality"],
            lm=model["lm"],
            tunable_parts=model["tunable_parts"],
            lora=model["lora"],
            fkg=fkg,
        )

    def _parts(self) -> dict[str, list[nn.Module]]:
        return {
            "projector": [self.projector],
            "encoders": [self.encoders, self.fuser],
            "lm": [self.lm],
        }

    def _freeze(self, parts: Sequence[str], lora: bool) -> None:
        unknown = sorted(set(parts) - set(TUNABLE_PARTS))
        if unknown:
            raise ValueError(
                f"model.tunable_parts: unknown {', '.join(unknown)}; "
                f"known: {', '.join(TUNABLE_PARTS)}"
            )
        if lora and "lm" in parts:
            raise ValueError(
                "model.tunable_parts: 'lm' trains every LM weight; with LoRA (model.lora.r > 0) "
                "leave it out and the adapters train"
            )
        if not parts and not lora:
            raise ValueError("model.tunable_parts: nothing would train; name at least one part")
        for name, modules in self._parts().items():
            for module in modules:
                module.requires_grad_(name in parts)
        if lora:
            for name, parameter in self.lm.named_parameters():
                if "lora_" in name:
                    parameter.requires_grad_(True)

    def train(self, mode: bool = True) -> TextModel:
        """Train mode for the parts that train: frozen ones keep their normalisation statistics
        and skip dropout (a LoRA-wrapped LM trains, through its adapters)."""
        super().train(mode)
        for modules in self._parts().values():
            for module in modules:
                if not any(p.requires_grad for p in module.parameters()):
                    module.eval()
        return self

    def save_language_model(self, folder: Path) -> Path:
        """The LM (or its LoRA adapters) and tokenizer via `save_pretrained`, written to a
        temporary folder and renamed; `model.lm.pretrained` (without LoRA) loads it back."""
        tmp = folder.with_name(f".{folder.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        self.lm.save_pretrained(tmp)
        self.tokenizer.save_pretrained(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        return folder

    def modality_tokens(
        self, batch: Mapping[str, Any]
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Per modality the (B, K, width) LM-space tokens, and which samples have it (B,)."""
        encoded = encode(self.encoders, batch)
        fused = self.fuser(encoded)
        lengths = [encoded[m].values.shape[1] for m in fused.present]
        if sum(lengths) != fused.tokens.values.shape[1]:
            raise ValueError(
                f"the text head splits the fused tokens by modality, but fuser "
                f"{type(self.fuser).__name__} returned {fused.tokens.values.shape[1]} tokens "
                f"for {sum(lengths)} encoded ones"
            )
        parts = zip(
            fused.present,
            fused.tokens.values.split(lengths, 1),
            fused.tokens.mask.split(lengths, 1),
            fused.tokens.times.split(lengths, 1),
            strict=True,
        )
        tokens = {
            m: self.projector(timeline(Tokens(v, k, t), self.tokens_per_modality))
            for m, v, k, t in parts
        }
        return tokens, dict(fused.present)

    def prompt_ids(self, modalities: Sequence[str], question: str) -> list[int]:
        """The prompt's ids: the placeholders of `modalities`, then the question (in the
        tokenizer's chat template when it has one, as instruct models expect)."""
        content = "".join(PLACEHOLDER_TOKENS[m] for m in modalities) + "\n" + question
        if self.tokenizer.chat_template:
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
            )
        else:
            text = content + "\n"
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def answer_ids(self, key: str, answer: str) -> list[int]:
        """The answer's ids and the end-of-text id; an answer that does not decode back is an
        error (the LM would learn to say something else)."""
        ids = self.tokenizer(answer, add_special_tokens=False)["input_ids"]
        decoded = self.tokenizer.decode(ids)
        if decoded != answer:
            raise ValueError(
                f"{key}: the answer {answer!r} is mis-tokenised: it decodes to {decoded!r}"
            )
        return [*ids, self.tokenizer.eos_token_id]

    def encode(self, batch: Mapping[str, Any]) -> PromptTokens:
        """The batch's modality tokens, ready to splice into any number of prompts."""
        tokens, present = self.modality_tokens(batch)
        return PromptTokens(list(batch["key"]), tokens, present)

    def _spliced(
        self,
        encoded: PromptTokens,
        questions: Sequence[str],
        answers: Sequence[str] | None,
        room: int = 0,
    ) -> list[SplicedSample]:
        embed = self.lm.get_input_embeddings()
        samples = []
        for row, key in enumerate(encoded.keys):
            have = [m for m in encoded.tokens if bool(encoded.present[m][row])]
            samples.append(
                splice(
                    key,
                    self.prompt_ids(have, questions[row]),
                    self.answer_ids(key, answers[row]) if answers is not None else [],
                    {m: self.placeholder_ids[m] for m in have},
                    {m: encoded.tokens[m][row] for m in have},
                    embed,
                    self.max_length - room,
                )
            )
        return samples

    def loss(
        self, encoded: PromptTokens, questions: Sequence[str], answers: Sequence[str]
    ) -> torch.Tensor:
        """Mean cross-entropy of the answer tokens (prompt and modality rows are ignored)."""
        padded = pad_spliced(self._spliced(encoded, questions, answers))
        return self.lm(**padded).loss

    @torch.no_grad()
    def generate(
        self, encoded: PromptTokens, questions: Sequence[str], max_new_tokens: int
    ) -> list[str]:
        """Greedy answers, one per sample, without the special tokens."""
        samples = self._spliced(encoded, questions, None, room=max_new_tokens)
        padded = pad_spliced(samples, left=True)
        out = self.lm.generate(
            inputs_embeds=padded["inputs_embeds"],
            attention_mask=padded["attention_mask"],
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
        )
        return [text.strip() for text in self.tokenizer.batch_decode(out, skip_special_tokens=True)]


@dataclass
class PromptTokens:
    """A batch's LM-space modality tokens (B, K, width) with per-sample presence, by key."""

    keys: list[str]
    tokens: dict[str, torch.Tensor]
    present: dict[str, torch.Tensor]

    def select(self, rows: Sequence[int]) -> PromptTokens:
        """The same for a subset of the batch's rows."""
        index = list(rows)
        return PromptTokens(
            [self.keys[i] for i in index],
            {m: t[index] for m, t in self.tokens.items()},
            {m: p[index] for m, p in self.present.items()},
        )
