"""Checkpoints are read with weights_only=True, and a missing, truncated, corrupt or foreign
file is a clear error naming it, from the API and from the commands."""

from __future__ import annotations

import os

import pytest
import torch

from fusion.checkpoints import CheckpointError, read_checkpoint
from fusion.cli import main


@pytest.fixture()
def good(tmp_path):
    path = tmp_path / "good.ckpt"
    saved = {
        "state_dict": {"w": torch.ones(3)},
        "hyper_parameters": {"config": {"task": {"kind": "aqa"}}},
        "epoch": 2,
    }
    torch.save(saved, path)
    return path


def test_a_good_checkpoint_reads(good):
    assert read_checkpoint(good)["epoch"] == 2


def test_bad_checkpoints_name_the_file_and_the_problem(tmp_path, good):
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    noise = tmp_path / "noise.ckpt"
    noise.write_bytes(os.urandom(4096))
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    cases = {
        tmp_path / "missing.ckpt": "no such checkpoint",
        truncated: "not a readable checkpoint",
        noise: "not a readable checkpoint",
        foreign: "not a fusion checkpoint",
    }
    for path, problem in cases.items():
        with pytest.raises(CheckpointError, match=problem) as error:
            read_checkpoint(path, "resume")
        assert str(error.value).startswith(f"resume: {path}: "), error.value


def test_the_commands_say_so_and_exit_2(tmp_path, capsys):
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["eval", str(broken)]) == 2
    assert f"{broken}: not a readable checkpoint" in capsys.readouterr().err
    assert main(["train", f"resume={broken}", f"out={tmp_path}"]) == 2
    assert f"resume: {broken}: not a readable checkpoint" in capsys.readouterr().err
