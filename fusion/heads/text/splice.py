"""Modality tokens into a causal LM's input: projectors and the placeholder splice.

As in LLaVA, each modality has one placeholder token in the prompt (`<video>`, `<pose>`,
`<emg>`, `<physio>`); its embedding row is replaced by that modality's projected tokens, so a
prompt of L ids with placeholders grows to L - P + sum(N_m) rows. Labels are IGNORE_INDEX on
the prompt and on every modality row and the answer's ids elsewhere. A sample that does not
fit `max_length` is an error naming it: truncating would silently teach a cut-off answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from fusion.constants import IGNORE_INDEX


def build_projector(name: str, in_dim: int, out_dim: int) -> nn.Module:
    """Fused tokens -> LM embedding space, by LLaVA's names: `linear` or `mlp2x_gelu`."""
    if name == "linear":
        return nn.Linear(in_dim, out_dim)
    if name == "mlp2x_gelu":
        return nn.Sequential(nn.Linear(in_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))
    raise ValueError(f"text.projector {name!r}: expected linear or mlp2x_gelu")


@dataclass
class SplicedSample:
    """One sample ready for the LM: embeddings (T, D) and labels (T,)."""

    embeds: torch.Tensor
    labels: torch.Tensor


def splice(
    key: str,
    prompt_ids: Sequence[int],
    answer_ids: Sequence[int],
    placeholder_ids: Mapping[str, int],
    tokens: Mapping[str, torch.Tensor],
    embed: Callable[[torch.Tensor], torch.Tensor],
    max_length: int,
) -> SplicedSample:
    """Replace each modality's placeholder in `prompt_ids` by its (N, D) projected tokens.

    Every modality in `tokens` must have its placeholder exactly once in the prompt, and no
    placeholder may be left without tokens.
    """
    by_id = {token_id: modality for modality, token_id in placeholder_ids.items()}
    seen = [by_id[i] for i in prompt_ids if i in by_id]
    if sorted(seen) != sorted(tokens) or len(set(seen)) != len(seen):
        raise ValueError(
            f"{key}: prompt placeholders {seen} do not match the modality tokens {sorted(tokens)}"
        )
    length = len(prompt_ids) - len(seen) + sum(len(t) for t in tokens.values()) + len(answer_ids)
    if length > max_length:
        raise ValueError(
            f"{key}: {length} positions (prompt {len(prompt_ids)}, answer {len(answer_ids)}, "
            f"modality tokens {sum(len(t) for t in tokens.values())}) exceed max_length "
            f"{max_length}; raise text.max_length or sample fewer tokens"
        )
    pieces, labels, text = [], [], []

    def flush() -> None:
        if text:
            pieces.append(embed(torch.tensor(text)))
            labels.append(torch.full((len(text),), IGNORE_INDEX))
            text.clear()

    for token_id in prompt_ids:
        if token_id in by_id:
            flush()
            rows = tokens[by_id[token_id]]
            pieces.append(rows)
            labels.append(torch.full((len(rows),), IGNORE_INDEX))
        else:
            text.append(token_id)
    flush()
    answer = torch.tensor(list(answer_ids), dtype=torch.long)
    pieces.append(embed(answer))
    labels.append(answer)
    return SplicedSample(torch.cat(pieces), torch.cat(labels))


def pad_spliced(samples: Sequence[SplicedSample], left: bool = False) -> dict[str, torch.Tensor]:
    """Pad to the longest: inputs_embeds (B, T, D), labels (B, T), attention_mask (B, T).

    Training pads on the right; generation pads on the left, so every prompt ends where the
    first new token goes.
    """
    longest = max(len(s.labels) for s in samples)
    dim = samples[0].embeds.shape[1]
    embeds = samples[0].embeds.new_zeros(len(samples), longest, dim)
    labels = torch.full((len(samples), longest), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros(len(samples), longest, dtype=torch.long)
    for row, sample in enumerate(samples):
        n = len(sample.labels)
        at = slice(longest - n, longest) if left else slice(0, n)
        embeds[row, at], labels[row, at], mask[row, at] = sample.embeds, sample.labels, 1
    return {"inputs_embeds": embeds, "labels": labels, "attention_mask": mask}
