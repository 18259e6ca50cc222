"""Export, predict, report and study folders: one writer at a time, nothing written where the
user did not ask, a dead run's temporaries swept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fusion.cli import main
from fusion.predict.artifact import ArtifactError
from fusion.predict.run import predict
from fusion.reports.page import write_page
from fusion.reports.run import ReportError

ROOT = Path(__file__).resolve().parents[2]
STUDY = "ablation: {name}\naxes:\n  model.fuser.name: [concat]\n"


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_export_into_a_folder_another_process_writes_fails_with_one_line(
    tmp_path, hold_lock, capsys
):
    out = tmp_path / "export"
    hold_lock(out)
    assert main(["export", str(tmp_path / "any.ckpt"), "--out", str(out)]) == 2
    assert "another `fusion export` is writing it" in _one_line(capsys)
    assert not out.exists()


def test_export_refuses_a_symlinked_output(tmp_path, capsys):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "elsewhere")
    assert main(["export", str(tmp_path / "any.ckpt"), "--out", str(tmp_path / "out")]) == 2
    assert "symbolic link" in _one_line(capsys)
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_predict_into_a_folder_another_process_writes_is_refused(flex_root, tmp_path, hold_lock):
    out = tmp_path / "pred"
    hold_lock(out)
    with pytest.raises(ArtifactError, match="another `fusion predict` is writing it"):
        predict(None, [flex_root / "A01" / "001"], out)  # the artifact is never reached
    assert not out.exists()


def test_report_never_overwrites_a_file_it_did_not_write(tmp_path):
    mine = tmp_path / "afile.txt"
    mine.write_text("my notes")
    with pytest.raises(ReportError, match="afile.txt: exists and is not an earlier fusion report"):
        write_page("<!DOCTYPE html><title>fusion report: x</title>", mine)
    assert mine.read_text() == "my notes"
    page = tmp_path / "page.html"
    write_page("<!DOCTYPE html><title>fusion report: x</title>one", page)
    write_page("<!DOCTYPE html><title>fusion report: x</title>two", page)  # its own: replaced
    assert page.read_text().endswith("two")


def test_report_into_a_locked_file_and_after_a_dead_run(tmp_path, hold_lock, dead_pid, capsys):
    page = tmp_path / "report.html"
    stale = tmp_path / f".report.html.tmp-{dead_pid}"
    stale.write_text("half a page")
    write_page("<title>fusion report: x</title>", page)
    assert not stale.exists()
    assert "removed 1 stale temporary" in _one_line(capsys)
    hold_lock(page)
    with pytest.raises(ReportError, match="another `fusion report` is writing it"):
        write_page("<title>fusion report: y</title>", page)
    assert page.read_text() == "<title>fusion report: x</title>"


@pytest.mark.parametrize("name", ["../../../x", "a/b", ".."])
def test_a_study_name_that_leaves_its_folder_is_refused(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "study.yaml"
    spec.write_text(STUDY.format(name=f'"{name}"'))
    assert main(["ablate", str(spec)]) == 2
    err = _one_line(capsys)
    assert str(spec) in err and "ablation:" in err and "not a plain name" in err
    assert sorted(p.name for p in tmp_path.parent.iterdir() if p.name == "x") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.yaml"]


def test_a_study_folder_another_process_writes_is_refused(tmp_path, hold_lock, capsys):
    spec = tmp_path / "study.yaml"
    spec.write_text(STUDY.format(name="s"))
    out = tmp_path / "study"
    hold_lock(out)
    assert main(["ablate", str(spec), "--out", str(out)]) == 2
    assert "another `fusion ablate` is writing it" in _one_line(capsys)
    assert not out.exists()


def test_onnx_runtime_writes_nothing_under_home(tmp_path):
    onnx = pytest.importorskip("onnx")
    helper = onnx.helper
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [value("x", onnx.TensorProto.FLOAT, [1])],
        [value("y", onnx.TensorProto.FLOAT, [1])],
    )
    model = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(model))
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ORT_"))}
    code = (
        "import sys, torch; from pathlib import Path; from fusion.predict.artifact import _onnx; "
        "run = _onnx(Path(sys.argv[1]), ['x'], ['y']); print(run({'x': -torch.ones(1)})['y'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(model)],
        env={**env, "HOME": str(home), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0.]"
    assert list(home.rglob("*")) == []


def test_reexporting_in_another_format_says_what_is_gone(tmp_path, capsys, monkeypatch):
    out = tmp_path / "export"
    out.mkdir()
    (out / "model.json").write_text('{"formats": ["torchscript", "onnx"]}')

    def fake_export(checkpoint, formats, folder):
        (folder / "model.json").write_text('{"formats": ["safetensors"]}')
        return folder

    monkeypatch.setattr("fusion.export.run.export", fake_export)
    args = ["export", str(tmp_path / "x.ckpt"), "--format", "safetensors", "--out", str(out)]
    assert main(args) == 0
    err = _one_line(capsys)
    assert f"replaced the earlier export in {out}; its torchscript, onnx is gone" in err


def test_predict_errors_name_the_users_file_not_the_scratch_copy(flex_root, monkeypatch):
    from fusion.data.sample import DataError
    from fusion.predict import run
    from fusion.predict.samples import link_layout, sample_path

    sample = sample_path(flex_root / "A01" / "001")

    def failing_batch(data, sample, scratch, *rest):
        link_layout(sample, scratch / "dataset")
        inside = scratch / "dataset" / "A01" / "001" / "View-2" / "img_00003.JPG"
        raise DataError(inside, "expected a decodable JPEG: broken")

    monkeypatch.setattr(run, "sample_batch", failing_batch)
    with pytest.raises(DataError) as caught:
        run._outputs(None, None, sample, None, ("video",), None)
    assert caught.value.path == str(flex_root / "A01" / "001" / "View-2" / "img_00003.JPG")
    assert "fusion-predict-" not in str(caught.value)
