"""Format detection, `open_reader` and `fusion data check`: counts, every problem, exit codes."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from fusion.cli import main
from fusion.data.check import check_dataset
from fusion.data.config import ReaderConfig
from fusion.data.fitness_aqa import FitnessAQAReader
from fusion.data.flex import FlexReader
from fusion.data.readers import detect_format, open_reader
from fusion.data.sample import DataError


def test_the_format_is_detected_from_the_layout(flex_root, faqa_root, tmp_path):
    assert detect_format(flex_root) == "flex"
    assert detect_format(faqa_root) == "fitness-aqa"
    (tmp_path / "EMG").mkdir()
    assert detect_format(tmp_path) == "flex"
    with pytest.raises(DataError, match="not a dataset"):
        detect_format(tmp_path / "EMG")
    with pytest.raises(DataError, match="expected a dataset folder"):
        detect_format(tmp_path / "absent")


def test_open_reader_honours_the_configured_format(flex_root, faqa_root):
    assert isinstance(open_reader(ReaderConfig(root=str(flex_root))), FlexReader)
    assert isinstance(open_reader(ReaderConfig(root=str(faqa_root))), FitnessAQAReader)
    forced = open_reader(ReaderConfig(root=str(flex_root), format="fitness-aqa"))
    assert isinstance(forced, FitnessAQAReader) and forced.index() == []
    with pytest.raises(ValueError, match="format 'csv'"):
        open_reader(ReaderConfig(root=str(flex_root), format="csv"))


def test_a_clean_flex_dataset_passes_with_its_counts(flex_root, capsys):
    assert main(["data", "check", str(flex_root), "--quiet"]) == 0
    out = capsys.readouterr().out
    subjects = Counter(
        json.loads(p.read_text())["subject"]["id"]
        for p in (flex_root / "annotations/A01").glob("*.json")
    )
    assert f"{flex_root}: flex, 12 samples (all checked)" in out
    assert "actions:    A01 12" in out
    assert "subjects:   " + ", ".join(f"{s} {n}" for s, n in sorted(subjects.items())) in out
    assert "splits:     test 3, train 9" in out
    assert "modalities: video 12/12, pose 12/12, emg 12/12, physio 12/12" in out
    assert out.rstrip().endswith("ok: no problems")


def test_json_report_and_limit(faqa_root, capsys):
    assert main(["data", "check", str(faqa_root), "--json", "--limit", "5", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["format"], report["samples"], report["checked"]) == ("fitness-aqa", 12, 5)
    assert report["present"] == {"video": 5, "pose": 0, "emg": 0, "physio": 0}
    assert report["ok"] is True and report["problems"] == []
    assert sum(report["splits"].values()) == 5


def test_every_broken_sample_is_listed_and_the_exit_code_is_one(flex_subset, capsys):
    root = flex_subset(4)
    emg = root / "EMG/A01/002/EMG.csv"
    emg.write_bytes(emg.read_bytes()[:-50])
    frame = root / "A01/004/View-2/img_00007.JPG"
    frame.unlink()
    assert main(["data", "check", str(root)]) == 1
    captured = capsys.readouterr()
    assert "2 problems:" in captured.out
    assert f"  {emg}: line " in captured.out and f"  {frame}: missing frame" in captured.out
    assert "modalities: video 2/2" in captured.out
    assert "4/4" in captured.err  # the progress bar


def test_a_process_pool_finds_the_same_problems(faqa_copy):
    (faqa_copy / "videos/BackSquat_S01_002.mp4").write_bytes(b"not a video")
    (faqa_copy / "videos/BackSquat_S01_011.mp4").unlink()
    reader = open_reader(ReaderConfig(root=str(faqa_copy)))
    alone = check_dataset(reader, workers=1, progress=False)
    pooled = check_dataset(reader, workers=2, progress=False)
    assert pooled == alone and len(alone.problems) == 2 and alone.readable == 10
    assert "BackSquat_S01_002.mp4: expected a decodable video" in alone.problems[0]
    assert "BackSquat_S01_011.mp4: missing" in alone.problems[1]


def test_a_folder_that_is_not_a_dataset_exits_two(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path)]) == 2
    assert "not a dataset" in capsys.readouterr().err
    assert main(["data", "check", str(tmp_path), "--format", "flex"]) == 2


def test_a_broken_index_is_a_problem_not_a_crash(faqa_copy, capsys):
    split = faqa_copy / "Splits/val_keys.json"
    split.write_text('{"BackSquat_S01_001": "val"}')
    assert main(["data", "check", str(faqa_copy), "--quiet"]) == 1
    assert f"  {split}: expected a JSON list of clip keys" in capsys.readouterr().out


def test_the_data_command_is_registered(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "check", "--help"])
    assert exit_info.value.code == 0
    assert "exit 0 when clean" in " ".join(capsys.readouterr().out.split()).lower()


@pytest.mark.parametrize("limit", ["0", "-2", "x"])
def test_a_bad_limit_is_refused(limit, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "check", str(tmp_path), "--limit", limit])
    assert exit_info.value.code == 2


def test_reader_options_are_set_on_the_command_line(faqa_root, capsys):
    argv = ["data", "check", str(faqa_root), "--quiet", "--json"]
    assert main([*argv, "--set", "modalities=[]", "tolerance_s=0.1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["present"] == {} and report["readable"] == 12
    assert main([*argv, "--set", "fps=10"]) == 2
    assert "Key 'fps' not in 'ReaderConfig'" in capsys.readouterr().err
    assert main([*argv, "--set", "modalities=[smell]"]) == 2
    assert "unknown modalities ['smell']" in capsys.readouterr().err
