"""The text LightningModule: the LM loss on reference answers, and metrics of generated ones.

Training teaches the answer of each sample's turn (a random paraphrase, and for FLEX-VideoQA a
random one of the four questions). Validation and test generate greedy answers for the first
clip of every sample, parse them (`fusion.heads.text.parse`) and score the parsed exercise,
errors, spans and score with the same metrics as the structured AQA head; an answer that does
not parse counts as wrong on every error. BLEU and chrF++ compare the free text with every
paraphrase of the reference (sacrebleu). Like `AQATask`, it builds everything from the run config.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch

from fusion.constants import IGNORE_INDEX
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.fkg.loader import load_fkg
from fusion.heads.text.answers import Turn, labelled_errors, turns
from fusion.heads.text.parse import ParsedAnswer, parse_answer
from fusion.heads.text.templates import PARAPHRASES, flex_qa, render_answer
from fusion.heads.text.tokenizer import tokenizer_digest
from fusion.metrics.errors import ActionAccuracy, ErrorF1, named_per_error
from fusion.metrics.regression import RelativeL2
from fusion.metrics.temporal import TemporalAP
from fusion.metrics.text import corpus_text_scores, gather_texts
from fusion.models.backbone import has_fuser, load_backbone, load_encoders
from fusion.models.text import TextModel
from fusion.tasks.optim import adamw_warmup_cosine, parameter_groups
from fusion.tasks.parts import PartsTask

PARTS = ("val", "test")
FREE_TEXT = {"study": ("errors", "basic", "temporal"), "flex-videoqa": ("standard", "evaluate")}


class TextTask(PartsTask):
    """Answers in words about the exercise, its errors (with spans) and its score."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.fkg: FitnessKnowledgeGraph = load_fkg(config["task"].get("fkg"))
        _same_as_trained(config, "fkg_sha256", self.fkg.sha256, f"{self.fkg.source}: FKG")
        self.model = TextModel.from_config(config["model"], self.fkg)
        _same_as_trained(
            config, "tokenizer_sha256", tokenizer_digest(self.model.tokenizer), "the tokenizer"
        )
        self.save_hyperparameters({"config": config})
        self.config = config
        self.style, self.prompt = config["task"]["style"], config["task"]["prompt"]
        self.action_names = [self.fkg.action(a).name for a in self.fkg.action_ids]
        self.error_names = sorted({e.name for e in self.fkg.iter_errors()})
        self.num_actions = len(self.fkg.action_ids)
        self.max_errors = max(len(a.errors) for a in self.fkg.actions.values())
        self.metrics = torch.nn.ModuleDict({part: self._metrics() for part in PARTS})
        self._outputs: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def _metrics(self) -> torch.nn.ModuleDict:
        return torch.nn.ModuleDict(
            {
                "action_acc": ActionAccuracy(ignore_index=IGNORE_INDEX),
                "error_f1": ErrorF1(self.max_errors, num_groups=self.num_actions),
                "temporal_ap": TemporalAP(self.num_actions * self.max_errors),
                "rl2": RelativeL2(),
            }
        )

    @property
    def asks_score(self) -> bool:
        return self.style == "flex-videoqa" or bool(self.config["task"]["with_score"])

    def setup(self, stage: str) -> None:
        """Before fitting (and before a resumed run's own weights are restored), start the
        encoders and fuser from `model.encoders_from` when it names a checkpoint."""
        source = self.config["model"].get("encoders_from")
        if stage == "fit" and source:
            if has_fuser(source):
                load_backbone(self.model, source)
            else:  # a pose_distill run: its video encoder only
                load_encoders(self.model, source, "model.encoders_from")

    def _turns(self, batch: dict[str, Any], paraphrases: list[int]) -> list[list[Turn]]:
        return turns(
            self.fkg, batch, self.style, self.prompt, self.config["task"]["with_score"], paraphrases
        )

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        size = len(batch["key"])
        paraphrases = (
            torch.randint(PARAPHRASES, (size,)).tolist()
            if self.config["task"]["paraphrase"]
            else [0] * size
        )
        per_row = self._turns(batch, paraphrases)
        picked = [row[int(torch.randint(len(row), ()))] for row in per_row]
        encoded = self.model.encode(batch)
        loss = self.model.loss(encoded, [t.question for t in picked], [t.answer for t in picked])
        self.log("train/loss", loss, batch_size=size, prog_bar=True)
        return loss

    def _eval_step(self, part: str, batch: dict[str, Any]) -> None:
        size = len(batch["key"])
        per_row = self._turns(batch, [0] * size)
        encoded = self.model.encode(batch)
        clips = batch["clip"].tolist() if "clip" in batch else [0] * size
        first = [i for i in range(size) if clips[i] == 0]
        losses = []
        answers: dict[int, dict[str, str]] = defaultdict(dict)
        for k in range(len(per_row[0])):
            column = [row[k] for row in per_row]
            questions = [t.question for t in column]
            losses.append(self.model.loss(encoded, questions, [t.answer for t in column]))
            if first:
                texts = self.model.generate(
                    encoded.select(first),
                    [questions[i] for i in first],
                    self.config["task"]["max_new_tokens"],
                )
                for i, text in zip(first, texts, strict=True):
                    answers[i][column[i].kind] = text
        self.log(f"{part}/loss", torch.stack(losses).mean(), batch_size=size, sync_dist=True)
        for i in first:
            self._outputs[part].append(
                {
                    "key": batch["key"][i],
                    "action": int(batch["action"][i]),
                    "labelled": labelled_errors(self.fkg, batch, i),
                    "turns": per_row[i],
                    "generated": answers[i],
                }
            )

    def parsed(self, row: dict[str, Any]) -> dict[str, ParsedAnswer]:
        """Each generated answer of a row read back against the FKG's names."""
        return {
            kind: parse_answer(text, self.action_names, self.error_names)
            for kind, text in row["generated"].items()
        }

    def prediction(self, row: dict[str, Any]) -> ParsedAnswer:
        """The structured prediction of a row: one study answer, or FLEX-VideoQA's exercise,
        evaluation and score answers put together."""
        parsed = self.parsed(row)
        if self.style == "study":
            return parsed[self.prompt]
        evaluation = parsed["evaluate"]
        return ParsedAnswer(
            parsed["action"].action,
            evaluation.errors,
            evaluation.spans,
            parsed["score"].score,
            parsed=evaluation.parsed,
        )

    def _epoch_end(self, part: str) -> None:
        rows = self._outputs[part]
        self._outputs[part] = []
        if not rows:
            return
        self.last_predictions = rows
        for name, value in self.text_metrics(part, rows).items():
            self.log(
                f"{part}/{name}", value, prog_bar=name in {"error_f1", "action_acc"}, sync_dist=True
            )

    def text_metrics(self, part: str, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Every metric of the generated answers in `rows`, with per-error F1 (`f1/<action
        id>/<error>`) and, for temporal prompts, per-error AP (`ap/...`)."""
        metrics = self.metrics[part]
        predictions = [self.prediction(row) for row in rows]
        out = {"parse_rate": torch.tensor(sum(p.parsed for p in predictions) / len(predictions))}
        names = self.action_names
        chosen = [names.index(p.action) if p.action in names else -1 for p in predictions]
        truth = torch.tensor([row["action"] for row in rows])
        metrics["action_acc"].update(torch.tensor(chosen), truth)
        target, probs, mask = self._error_slots(rows, predictions)
        metrics["error_f1"].update(probs, target, mask, truth)
        if self.prompt == "temporal" and self.style == "study":
            metrics["temporal_ap"].update(*self._segments(rows, predictions))
        if self.asks_score:
            self._update_score(metrics["rl2"], rows, predictions)
        out.update(corpus_text_scores(*gather_texts(*self._free_text(rows))))
        for name, metric in metrics.items():
            if metric.update_count == 0:
                continue
            value = metric.compute()
            metric.reset()
            if name == "error_f1":
                out.update(named_per_error(self.fkg, "f1", value["per_error"]))
                value = value["macro"]
            elif name == "temporal_ap":
                per_class = value["per_class"].view(self.num_actions, self.max_errors)
                out.update(named_per_error(self.fkg, "ap", per_class))
                value = value["mAP"]
            out[name] = value
        return out

    def _error_slots(
        self, rows: list[dict[str, Any]], predictions: list[ParsedAnswer]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(target, 0/1 prediction, mask) per labelled error slot of the true action; an
        unparsed answer is wrong on every slot."""
        shape = (len(rows), self.max_errors)
        target, probs = torch.zeros(shape), torch.zeros(shape)
        mask = torch.zeros(shape, dtype=torch.bool)
        for i, (row, pred) in enumerate(zip(rows, predictions, strict=True)):
            truth = row["turns"][0].truth
            errors = self.fkg.action(self.fkg.action_ids[row["action"]]).errors
            for j, error in enumerate(errors):
                target[i, j] = float(error.name in truth.errors)
                said = error.name in pred.errors
                probs[i, j] = float(said if pred.parsed else not target[i, j])
                mask[i, j] = error.name in row["labelled"]
        return target, probs, mask

    def _segments(self, rows: list[dict[str, Any]], predictions: list[ParsedAnswer]) -> tuple:
        """Said and true error spans per sample; class = true action * E + slot."""
        preds, truth = [], []
        for row, pred in zip(rows, predictions, strict=True):
            base = row["action"] * self.max_errors
            names = [e.name for e in self.fkg.action(self.fkg.action_ids[row["action"]]).errors]
            said = [
                (base + names.index(n), *sorted(span), 1.0)
                for n, span in pred.spans.items()
                if n in names
            ]
            true = row["turns"][0].truth.spans
            preds.append(said)
            truth.append([(base + names.index(n), *span) for n, span in true.items()])
        return preds, truth

    def _update_score(
        self, metric: RelativeL2, rows: list[dict[str, Any]], predictions: list[ParsedAnswer]
    ) -> None:
        """R-l2 of the said score; a missing one counts as 0 (the far end of the scale)."""
        true = [row["turns"][0].truth.score for row in rows]
        known = torch.tensor([t is not None for t in true])
        target = torch.tensor([t if t is not None else 0.0 for t in true])
        said = torch.tensor([p.score if p.score is not None else 0.0 for p in predictions])
        metric.update(said, target, known)

    def _free_text(self, rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
        """Generated answers to the free-text turns, each with every reference paraphrase."""
        hypotheses, references = [], []
        for row in rows:
            for turn in row["turns"]:
                if turn.kind in FREE_TEXT[self.style]:
                    hypotheses.append(row["generated"][turn.kind])
                    references.append(self._references(row, turn))
        return hypotheses, references

    def _references(self, row: dict[str, Any], turn: Turn) -> list[str]:
        if self.style == "study":
            spans = self.prompt == "temporal"
            return [render_answer(turn.truth, p, with_spans=spans) for p in range(PARAPHRASES)]
        action = self.fkg.action(self.fkg.action_ids[row["action"]])
        return [flex_qa(action, turn.truth, p)[turn.question] for p in range(PARAPHRASES)]

    def configure_optimizers(self) -> dict[str, Any]:
        factors = self.config["model"].get("lr_factors") or {}
        groups = parameter_groups(self.model, self.config["task"]["lr"], factors)
        return adamw_warmup_cosine(groups, self.config)


def _same_as_trained(config: dict[str, Any], field: str, digest: str, what: str) -> None:
    """Record `digest` in a new config; refuse a checkpoint's config that recorded another."""
    trained_with = config.setdefault(field, digest)
    if trained_with != digest:
        raise ValueError(
            f"{what} differs from the one the checkpoint was trained with "
            f"({trained_with[:12]} vs {digest[:12]}); pass the FKG and LM it was trained with"
        )
