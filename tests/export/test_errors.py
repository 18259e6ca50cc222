"""Bad checkpoints, formats and folders: a clear error naming the file, exit code 2 from the
command line, and no half-written output."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fusion.cli import main
from fusion.export.checkpoint import ExportError
from fusion.export.run import export


def _truncated(source: Path, path: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _random_bytes(source: Path, path: Path) -> Path:
    path.write_bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0))
                     .to(torch.uint8).numpy().tobytes())  # fmt: skip
    return path


def _not_fusion(source: Path, path: Path) -> Path:
    torch.save({"weights": torch.zeros(3)}, path)
    return path


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_truncated, "not a readable checkpoint"),
        (_random_bytes, "not a readable checkpoint"),
        (_not_fusion, "not a fusion checkpoint"),
    ],
)
def test_a_damaged_or_foreign_file_is_refused_by_name(
    aqa_checkpoint, tmp_path, capsys, damage, expected
):
    bad = damage(aqa_checkpoint, tmp_path / "bad.ckpt")
    out = tmp_path / "out"
    with pytest.raises(ExportError, match=expected) as error:
        export(bad, ["safetensors"], out)
    assert str(bad) in str(error.value)
    assert main(["export", str(bad), "--format", "safetensors", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and expected in err and "Traceback" not in err
    # nothing written, no temporary folder left (only the writer lock beside the output)
    assert sorted(tmp_path.iterdir()) == [tmp_path / ".out.lock", bad]


def test_a_missing_file_unknown_format_and_foreign_folder_exit_2(aqa_checkpoint, tmp_path, capsys):
    missing = tmp_path / "none.ckpt"
    assert main(["export", str(missing), "--out", str(tmp_path / "o")]) == 2
    assert f"{missing}: no such checkpoint" in capsys.readouterr().err
    args = ["export", str(aqa_checkpoint), "--format", "tflite", "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "unknown format tflite" in capsys.readouterr().err
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main(["export", str(aqa_checkpoint), "--out", str(foreign)]) == 2
    assert "not an earlier export" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_a_failing_writer_leaves_the_earlier_export_in_place(aqa_checkpoint, tmp_path, monkeypatch):
    out = export(aqa_checkpoint, ["safetensors"], tmp_path / "out")
    before = (out / "model.json").read_text()

    def broken(wrapper, path):
        path.write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setitem(__import__("fusion.export.run").export.run.WRITERS, "torchscript", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export(aqa_checkpoint, ["torchscript"], out)
    assert (out / "model.json").read_text() == before and not (out / "model.pt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]
