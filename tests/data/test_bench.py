"""`fusion bench data` on a tiny dataset: both readers run and the figures are written."""

from __future__ import annotations

import json

from fusion.cli import main


def test_bench_data_times_both_readers_and_writes_json(flex_root, tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(
        ["bench", "data", "--root", str(flex_root), "--samples", "8", "--workers", "0",
         "--batch-size", "4", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    result = json.loads(out.read_text())
    assert result["samples_in_dataset"] == 12 and result["naive_samples_timed"] == 8
    assert result["cached_samples_timed"] >= 8
    assert result["naive_samples_per_s"] > 0 and result["cached_samples_per_s"] > 0
    assert result["cache_bytes"] > 0 and result["cache_build_s"] > 0
    assert "speedup" in capsys.readouterr().out


def test_bench_data_on_a_missing_folder_exits_two(tmp_path, capsys):
    assert main(["bench", "data", "--root", str(tmp_path / "none"), "--workers", "0"]) == 2
    assert "fusion bench data:" in capsys.readouterr().err
