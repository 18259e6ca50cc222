"""The text task: metrics of parsed answers against references, and a run end to end."""

from __future__ import annotations

import csv
import json

import pytest
import sacrebleu
import torch
from omegaconf import OmegaConf
from sklearn.metrics import f1_score

from fusion.evaluate import evaluate
from fusion.heads.text.answers import Turn
from fusion.heads.text.lm import load_pretrained
from fusion.heads.text.templates import PARAPHRASES, Answer, render_answer, render_prompt
from fusion.tasks.text import TextTask
from fusion.train import train

SQUAT = "Barbell Back Squat"


def task_for(text_config, flex_root, tmp_path, *extra: str) -> TextTask:
    return TextTask(text_config(flex_root, tmp_path, *extra))


def row(task: TextTask, truth: Answer, generated: str, prompt: str = "errors") -> dict:
    question = render_prompt(prompt, 3.0, [0.5, 1.5])
    reference = render_answer(truth, 0, with_spans=prompt == "temporal")
    turn = Turn("A01/001", question, reference, truth, prompt)
    labelled = tuple(e.name for e in task.fkg.action("A01").errors)
    return {
        "key": "A01/001",
        "action": 0,
        "labelled": labelled,
        "turns": [turn],
        "generated": {prompt: generated},
    }


def test_parsed_answers_are_scored_and_unparsed_ones_count_as_wrong(
    text_config, flex_root, tmp_path
):
    task = task_for(text_config, flex_root, tmp_path)
    cases = [
        (Answer(SQUAT, ("knees_inward",)), f"This is {SQUAT}. Errors: knees inward."),
        (Answer(SQUAT), f"This is {SQUAT}. Errors: knees forward."),
        (Answer(SQUAT, ("knees_forward",)), "This is Barbell Front Squat. No errors are visible."),
        (Answer(SQUAT, ("knees_forward",)), "I cannot tell."),
    ]
    rows = [row(task, truth, text) for truth, text in cases]
    out = task.text_metrics("test", rows)
    assert out["parse_rate"] == pytest.approx(0.75)
    assert out["action_acc"] == pytest.approx(0.5)
    errors = [e.name for e in task.fkg.action("A01").errors]
    target = torch.tensor([[float(n in t.errors) for n in errors] for t, _ in cases])
    said = torch.tensor([[float(n in g.split("Errors:")[-1].replace(" ", "_")) for n in errors]
                         for _, g in cases])  # fmt: skip
    said[3] = 1 - target[3]  # the unparsed answer is wrong on every error
    expected = {
        n: f1_score(target[:, j], said[:, j], zero_division=0)
        for j, n in enumerate(errors)
        if target[:, j].any()
    }
    assert set(expected) == {"knees_inward", "knees_forward"}
    for name, value in expected.items():
        assert out[f"f1/A01/{name}"] == pytest.approx(value)
    assert out["error_f1"] == pytest.approx(sum(expected.values()) / len(expected))
    hypotheses = [text for _, text in cases]
    references = [[render_answer(t, p) for t, _ in cases] for p in range(PARAPHRASES)]
    bleu = sacrebleu.corpus_bleu(hypotheses, references).score
    chrf = sacrebleu.corpus_chrf(hypotheses, references, word_order=2).score
    assert out["bleu"] == pytest.approx(bleu, abs=1e-3)
    assert out["chrf"] == pytest.approx(chrf, abs=1e-3)
    assert "temporal_ap" not in out and "rl2" not in out


def test_temporal_answers_give_span_ap_and_said_scores_the_r_l2(text_config, flex_root, tmp_path):
    task = task_for(
        text_config, flex_root, tmp_path, "task.prompt=temporal", "task.with_score=true"
    )
    truth = Answer(SQUAT, ("knees_inward", "knees_forward"), {"knees_inward": (1.0, 2.0),
                   "knees_forward": (1.0, 2.0)}, 70.0)  # fmt: skip
    close = f"This is {SQUAT}. Errors: knees inward, from 1.10s to 2.00s; knees forward, " \
            "from 0.00s to 0.30s. The score is 80 out of 100."  # fmt: skip
    silent = f"This is {SQUAT}. Errors: knees inward, from 1.00s to 1.40s."
    rows = [row(task, truth, close, "temporal"), row(task, truth, silent, "temporal")]
    out = task.text_metrics("test", rows)
    # knees inward: a hit (tIoU 0.9) and a miss (0.4) of two truths -> AP 0.5; forward: 0
    assert out["ap/A01/knees_inward"] == pytest.approx(0.5)
    assert out["ap/A01/knees_forward"] == pytest.approx(0.0)
    assert out["temporal_ap"] == pytest.approx(0.25)
    # R-l2 x100: ((80 - 70) / 100)^2 and, for the missing score, ((0 - 70) / 100)^2
    assert out["rl2"] == pytest.approx(100 * (0.01 + 0.49) / 2)


def test_flex_videoqa_puts_the_four_answers_together(text_config, flex_root, tmp_path):
    task = task_for(text_config, flex_root, tmp_path, "task.style=flex-videoqa")
    action = task.fkg.action("A01")
    generated = {
        "action": f"The exercise shown is {SQUAT}.",
        "standard": "Keep the chest up.",
        "evaluate": "Errors: knees inward. Feedback: push the knees out.",
        "score": "I would score it 64 out of 100.",
    }
    prediction = task.prediction({"generated": generated, "action": 0, "turns": []})
    assert prediction.action == action.name and prediction.errors == ("knees_inward",)
    assert prediction.score == 64.0 and prediction.parsed


@pytest.fixture(scope="module")
def text_run(flex_root, tmp_path_factory, text_config):
    tmp = tmp_path_factory.mktemp("text-run")
    config = text_config(
        flex_root,
        tmp / "cache",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "task.max_new_tokens=24",
        f"out={tmp / 'runs'}",
    )
    return train(OmegaConf.create(config))


def test_a_text_run_writes_answers_and_reloads_to_the_same_metrics(text_run):
    folder, metrics = text_run
    for name in ("test/loss", "test/parse_rate", "test/action_acc", "test/bleu", "test/chrf"):
        assert name in metrics
    rows = list(csv.DictReader((folder / "predictions.csv").open()))
    split = json.loads((folder / "split.json").read_text())
    assert {r["key"] for r in rows} == set(split["test"])
    assert all(r["turn"] == "errors" and r["reference"] for r in rows)
    assert (folder / "learning_curves.png").is_file()
    task = TextTask.load_from_checkpoint(str(folder / "checkpoints" / "best.ckpt"))
    lm, tokenizer = load_pretrained(folder / "lm")  # the tested LM, saved with save_pretrained
    ids = tokenizer("<pose>\nWhich exercise is it?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(
            lm.eval()(input_ids=ids).logits, task.model.lm.eval()(input_ids=ids).logits
        )
    again, reloaded = evaluate(folder / "checkpoints" / "best.ckpt", "test", folder / "again")
    assert reloaded["test/parse_rate"] == pytest.approx(metrics["test/parse_rate"])
    assert reloaded["test/chrf"] == pytest.approx(metrics["test/chrf"])
    generated = [r["generated"] for r in csv.DictReader((again / "predictions.csv").open())]
    assert generated == [r["generated"] for r in rows]


def test_fitting_starts_from_encoders_from_and_reloading_does_not(text_config, flex_root, tmp_path):
    torch.manual_seed(1)
    source = task_for(text_config, flex_root, tmp_path)
    path = tmp_path / "source.ckpt"
    torch.save({"state_dict": source.state_dict(), "hyper_parameters": dict(source.hparams)}, path)
    torch.manual_seed(2)
    task = task_for(text_config, flex_root, tmp_path, f"model.encoders_from={path}")
    first = next(iter(task.model.encoders.parameters()))
    original = first.detach().clone()
    task.setup("test")  # evaluation and load_from_checkpoint keep their own weights
    assert torch.equal(first, original)
    task.setup("fit")
    assert torch.equal(first, next(iter(source.model.encoders.parameters())))
    assert not torch.equal(first, original)


def test_a_flex_videoqa_run_asks_four_questions_per_sample(text_config, flex_root, tmp_path):
    config = text_config(
        flex_root,
        tmp_path / "cache",
        "task.style=flex-videoqa",
        "task.max_new_tokens=12",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=1",
        "trainer.enable_progress_bar=false",
        f"out={tmp_path / 'runs'}",
    )
    folder, metrics = train(OmegaConf.create(config))
    assert {"test/rl2", "test/bleu", "test/chrf", "test/parse_rate"} <= set(metrics)
    rows = list(csv.DictReader((folder / "predictions.csv").open()))
    by_key: dict[str, list[str]] = {}
    for r in rows:
        by_key.setdefault(r["key"], []).append(r["turn"])
    assert all(turns == ["action", "standard", "evaluate", "score"] for turns in by_key.values())
    score_rows = [r for r in rows if r["turn"] == "score"]
    assert all("out of 100" in r["reference"] for r in score_rows)
