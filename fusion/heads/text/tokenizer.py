"""The default tokenizer: a byte-level BPE trained here on the FKG and the template text.

No tokenizer can be downloaded on our machines, so the default LM's vocabulary is learnt from
the words it will read and say: exercise names, key steps, error phrases, feedback and every
prompt and answer template. As in Qwen2, digits are split one by one (times and scores are
spelt digit by digit) and the byte-level alphabet is always in the vocabulary, so any text
still encodes and decodes back exactly. Training is deterministic for one FKG.
"""

from __future__ import annotations

import hashlib

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from fusion.constants import PLACEHOLDER_TOKENS
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.heads.text.templates import (
    ERRORS_PHRASES,
    EXERCISE_PHRASES,
    NO_ERROR_PHRASES,
    PROMPTS,
    QUESTIONS,
    SCORE_PHRASES,
    SPAN_PHRASES,
    error_phrase,
)

PAD_TOKEN = "<|pad|>"
EOS_TOKEN = "<|endoftext|>"


def template_corpus(fkg: FitnessKnowledgeGraph) -> list[str]:
    """Every phrase the text head reads or writes, once per FKG action and error."""
    lines = [*PROMPTS.values(), *QUESTIONS.values(), *NO_ERROR_PHRASES]
    for action in fkg.actions.values():
        lines += [p.format(action=action.name) for p in EXERCISE_PHRASES]
        lines += [f"{i + 1}. {step.text}." for i, step in enumerate(action.key_steps)]
        for error in action.errors:
            said = error_phrase(error.name)
            lines += [p.format(errors=said) for p in ERRORS_PHRASES]
            lines += [p.format(error=said, start=0.25, end=1.75) for p in SPAN_PHRASES]
            lines += [error.description, error.feedback.text]
    lines += [p.format(score=s) for p in SCORE_PHRASES for s in (0, 50, 100)]
    return lines


def build_tokenizer(fkg: FitnessKnowledgeGraph, vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """A BPE tokenizer over `template_corpus(fkg)` with pad, end-of-text and placeholders."""
    specials = [PAD_TOKEN, EOS_TOKEN, *PLACEHOLDER_TOKENS.values()]
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(template_corpus(fkg), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=PAD_TOKEN,
        eos_token=EOS_TOKEN,
        extra_special_tokens=list(PLACEHOLDER_TOKENS.values()),
    )


def tokenizer_digest(tokenizer: PreTrainedTokenizerFast) -> str:
    """SHA-256 of the vocabulary, so a checkpoint can refuse a tokenizer it was not trained with."""
    vocab = sorted(tokenizer.get_vocab().items())
    return hashlib.sha256(repr(vocab).encode()).hexdigest()
