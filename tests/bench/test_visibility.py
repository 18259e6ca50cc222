"""`fusion bench visibility`: lifter pixels, error movements and crop-box agreement."""

from __future__ import annotations

import json

import pytest

from fusion.bench.visibility import crop_agreement, error_visibility
from fusion.cli import main


def test_errors_move_joints_by_their_centimetres_in_each_views_pixels():
    result = error_visibility("small", subjects=1)
    assert result["frame"] == [160, 208] and len(result["lifter_px"]) == 5
    assert all(90 <= px <= 120 for px in result["lifter_px"].values())
    by_name = {(row["action"], row["error"]): row for row in result["errors"]}
    valgus = by_name[("A01", "knees_inward")]
    assert valgus["moved_cm"] > 3 and max(valgus["moved_px"].values()) > 2
    assert by_name[("A01", "lower_back_drives")]["moved_cm"] == 0  # a muscle-only error
    for row in result["errors"]:  # pixels follow centimetres through the cm-per-pixel scale
        cm_per_px = result["cm_per_px"]["view1"]
        assert row["moved_px"]["view1"] <= row["moved_cm"] / cm_per_px * 1.6 + 0.1


def test_background_boxes_agree_with_the_skeleton_on_the_fixture(flex_root):
    crops = crop_agreement(flex_root, samples=4)
    assert crops["views"] == 5 * 4 and 0.3 <= crops["median_iou"] <= 1.0
    assert set(crops["per_action"]) == {"A01"}


def test_the_command_prints_and_writes_json(flex_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(
        "fusion.bench.visibility.error_visibility",
        lambda preset: error_visibility(preset, subjects=1),
    )
    out = tmp_path / "v.json"
    assert (
        main(["bench", "visibility", "--root", str(flex_root), "--samples", "2", "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "cm per px on the lifter" in printed and "median IoU" in printed
    assert json.loads(out.read_text())["crops"]["views"] == 10
    assert main(["bench", "visibility", "--preset", "huge"]) == 2


@pytest.mark.parametrize("preset", ["small"])
def test_the_small_preset_lifter_is_about_100_px_tall(preset):
    assert min(error_visibility(preset, subjects=2)["lifter_px"].values()) >= 95
