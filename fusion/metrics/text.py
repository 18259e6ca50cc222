"""Free-text metrics: corpus BLEU and chrF++ from sacrebleu, gathered across DDP processes.

sacrebleu is the reference implementation the LMM papers report; torchmetrics' chrF differs
from it in the second decimal, so the corpus scores come from sacrebleu itself. Its inputs are
strings, which torchmetrics states cannot hold, so each process's texts are gathered as
objects before scoring.
"""

from __future__ import annotations

from collections.abc import Sequence

import sacrebleu

from fusion.metrics.gather import gather_lists


def corpus_text_scores(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]]
) -> dict[str, float]:
    """{"bleu", "chrf"} (chrF++: word bigrams too) on sacrebleu's 0-100 scale; each hypothesis
    is scored against all of its references, which must be equally many per hypothesis."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    counts = {len(r) for r in references}
    if len(counts) > 1:
        raise ValueError(f"every hypothesis needs as many references, got {sorted(counts)}")
    streams = [list(stream) for stream in zip(*references, strict=True)]
    return {
        "bleu": sacrebleu.corpus_bleu(list(hypotheses), streams).score,
        "chrf": sacrebleu.corpus_chrf(list(hypotheses), streams, word_order=2).score,
    }


def gather_texts(
    hypotheses: list[str], references: list[list[str]]
) -> tuple[list[str], list[list[str]]]:
    """Every process's hypotheses and references, in rank order (as is without DDP)."""
    pairs = gather_lists(list(zip(hypotheses, references, strict=True)))
    return [h for h, _ in pairs], [r for _, r in pairs]
