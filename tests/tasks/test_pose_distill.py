"""Pose distillation: its frame targets, learning the skeleton, and its encoder starting the
AQA, text and Video->EMG models (`model.encoders_from`, `model.lr_factors`)."""

from __future__ import annotations

import csv

import pytest
import torch

from fusion.config import compose, to_container
from fusion.models.backbone import load_encoders
from fusion.models.pose_distill import frame_targets
from fusion.tasks.aqa import AQATask
from fusion.tasks.optim import parameter_groups
from fusion.tasks.pose_distill import PoseDistillTask
from fusion.tasks.text import TextTask
from fusion.tasks.video2emg import Video2EMGTask
from fusion.train import train

EPOCHS = 40
VIDEO = {"name": "video", "backbone": "mobilenetv3_small_050", "dim": 32, "temporal": "none"}


def distill_overrides(root, tmp_path, epochs: int) -> list[str]:
    return [
        "task=pose_distill",
        "model=pose_distill",
        "model.encoders.video.dim=32",
        "model.encoders.video.temporal=none",
        f"data.reader.root={root}",
        f"data.cache.dir={tmp_path / 'cache'}",
        "data.cache.workers=1",
        "data.cache.image_size=48",
        "data.preprocess=[{name: video.person_crop, size: 48}, {name: pose.center}]",
        "data.transform=[]",
        "data.augment=[]",
        "data.color_jitter=0",
        "data.loader.num_workers=0",
        "data.loader.batch_size=4",
        "data.split.protocol=random",
        "data.split.val_fraction=0.2",
        "data.split.test_fraction=0.2",
        f"trainer.max_epochs={epochs}",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "task.lr=0.003",
        f"out={tmp_path / 'runs'}",
    ]


def test_frame_targets_take_the_nearest_real_row_within_one_period():
    pose = torch.arange(6.0)[None, :, None, None].expand(1, 6, 2, 3)
    pose_times = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.0, 0.0]])
    pose_mask = torch.tensor([[True, True, True, True, False, False]])
    times = torch.tensor([[0.0, 0.12, 0.29, 0.55]])
    target, found = frame_targets(pose, pose_times, pose_mask, times)
    assert target[0, :, 0, 0].tolist() == [0.0, 1.0, 3.0, 3.0]
    assert found.tolist() == [[True, True, True, False]]  # 0.55 s is 0.25 s past the last row


@pytest.fixture(scope="module")
def distilled(flex_root, tmp_path_factory):
    """A pose_distill run on the 12-sample fixture: (run folder, metrics)."""
    tmp_path = tmp_path_factory.mktemp("distill")
    torch.manual_seed(0)
    return train(compose(None, distill_overrides(flex_root, tmp_path, EPOCHS)))


def test_distillation_learns_the_skeleton(distilled):
    folder, metrics = distilled
    with (folder / "metrics.csv").open() as handle:
        losses = [
            float(r["train/loss_epoch"])
            for r in csv.DictReader(handle)
            if r.get("train/loss_epoch")
        ]
    assert len(losses) == EPOCHS and losses[-1] < 0.5 * losses[0]
    assert metrics["test/mpjpe_mm"] < metrics["test/baseline_mpjpe_mm"] < 1000
    assert metrics["test/view_mpjpe_mm"] > 0 and (folder / "learning_curves.png").is_file()


def aqa_config(root, tmp_path, *extra: str) -> dict:
    return to_container(
        compose(
            None,
            [
                f"data.reader.root={root}",
                f"data.cache.dir={tmp_path / 'cache'}",
                "model.encoders.video.dim=32",
                "model.encoders.video.temporal=none",
                "model.encoders.video.input_size=null",
                "model.encoders.video.view_dropout=0",
                *extra,
            ],
        )
    )


def video_weights(task) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in task.model.encoders["video"].state_dict().items()}


def test_the_aqa_text_and_video2emg_models_start_from_the_distilled_encoder(
    distilled, flex_root, tmp_path, text_config
):
    checkpoint = distilled[1]["best_checkpoint"]
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    expected = {
        k.removeprefix("model.encoders.video."): v
        for k, v in saved.items()
        if k.startswith("model.encoders.video.")
    }
    aqa = AQATask(aqa_config(flex_root, tmp_path, f"model.encoders_from={checkpoint}"))
    text = TextTask(
        text_config(
            flex_root,
            tmp_path / "cache",
            "model.modalities=[video,pose]",
            "model.encoders.video.dim=32",
            "model.encoders.video.temporal=none",
            f"model.encoders_from={checkpoint}",
        )
    )
    emg_config = to_container(compose(None, []))
    emg_config["model"] = {
        "kind": "learned",
        "modalities": ["video"],
        "encoders": {"video": VIDEO},
        "dim": 32,
        "decoder_layers": 1,
        "harmonics": 2,
        "templates": False,
        "actions": [],
        "channels": 16,
        "pairs": 8,
        "encoders_from": checkpoint,
        "lr_factors": {"encoders.video": 0.1},
    }
    emg_config["task"] = {"loss": "l1", "contribution_weight": 1.0, "action_weight": 0.0}
    emg_config["task"] |= {"lr": 1e-3, "weight_decay": 0.0, "warmup_epochs": 0}
    emg = Video2EMGTask(emg_config)
    for task in (aqa, text, emg):
        before = video_weights(task)
        task.setup("fit")
        after = video_weights(task)
        assert all(torch.equal(after[k], expected[k]) for k in after)
        assert any(not torch.equal(before[k], after[k]) for k in before)
    groups = emg.configure_optimizers()["optimizer"].param_groups
    assert sorted(g["lr"] for g in groups) == pytest.approx([1e-4, 1e-3])


def test_pose_readout_starts_its_lifter_from_the_distilled_encoder(distilled, flex_root, tmp_path):
    checkpoint = distilled[1]["best_checkpoint"]
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    task = AQATask(
        aqa_config(
            flex_root,
            tmp_path,
            "model=video_pose",
            "model.modalities=[video]",
            "model.encoders.video.dim=32",
            "model.encoders.video.temporal=none",
            f"model.encoders_from={checkpoint}",
        )
    )
    fresh = {k: v.clone() for k, v in task.model.encoders["video"].pose.state_dict().items()}
    task.setup("fit")
    encoder = task.model.encoders["video"]
    lifter = {k: v for k, v in encoder.state_dict().items() if not k.startswith("pose.")}
    assert "joint_head.1.weight" in lifter
    assert all(torch.equal(v, saved[f"model.encoders.video.{k}"]) for k, v in lifter.items())
    assert all(torch.equal(v, fresh[k]) for k, v in encoder.pose.state_dict().items())
    assert not any(p.requires_grad for k, p in encoder.named_parameters() if k in lifter)


def test_an_encoder_of_another_shape_is_refused_with_one_line(distilled, flex_root, tmp_path):
    checkpoint = distilled[1]["best_checkpoint"]
    wide = AQATask(aqa_config(flex_root, tmp_path, "model.encoders.video.dim=48"))
    with pytest.raises(ValueError, match="its video encoder") as caught:
        load_encoders(wide.model, checkpoint, "model.encoders_from")
    assert "\n" not in str(caught.value)
    pose_only = AQATask(aqa_config(flex_root, tmp_path, "model.modalities=[pose]"))
    with pytest.raises(ValueError, match="holds none of this model's encoders"):
        load_encoders(pose_only.model, checkpoint, "model.encoders_from")


def test_a_zero_lr_factor_freezes_the_module_and_a_wrong_path_is_named(flex_root, tmp_path):
    task = AQATask(aqa_config(flex_root, tmp_path))
    groups = parameter_groups(task.model, 1e-3, {"encoders.video": 0.0})
    video = set(map(id, task.model.encoders["video"].parameters()))
    assert all(id(p) not in video for g in groups for p in g["params"])
    assert not any(p.requires_grad for p in task.model.encoders["video"].parameters())
    with pytest.raises(ValueError, match="no module 'encoders.audio'"):
        parameter_groups(task.model, 1e-3, {"encoders.audio": 0.5})


def test_a_data_config_that_scales_the_pose_is_refused(flex_root, tmp_path):
    config = compose(None, ["task=pose_distill", "model=pose_distill", "data=small"])
    with pytest.raises(ValueError, match="data=small_distill"):
        PoseDistillTask(to_container(config))
