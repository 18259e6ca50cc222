"""Tiny generated datasets shared by the tests (made once per test process)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from fusion.config import compose, to_container
from fusion.synth.generate import generate
from fusion.train import train


@pytest.fixture(scope="session")
def flex_root(tmp_path_factory) -> Path:
    """A read-only small-preset FLEX dataset of 12 repetitions; copy it before breaking it."""
    root = tmp_path_factory.mktemp("flex") / "ds"
    generate("small", root, seed=0, fmt="flex", limit=12, workers=1, progress=False)
    return root


@pytest.fixture(scope="session")
def faqa_root(tmp_path_factory) -> Path:
    """A read-only small-preset Fitness-AQA dataset of 12 clips; copy it before breaking it."""
    root = tmp_path_factory.mktemp("faqa") / "ds"
    generate("small", root, seed=0, fmt="fitness-aqa", limit=12, workers=1, progress=False)
    return root


@pytest.fixture()
def flex_copy(flex_root, tmp_path) -> Path:
    """A private, writable copy of the FLEX fixture for tests that damage files."""
    return Path(shutil.copytree(flex_root, tmp_path / "ds"))


@pytest.fixture()
def flex_subset(flex_root, tmp_path) -> Callable[[int], Path]:
    """Makes writable copies of the FLEX fixture's first n samples (quicker than all twelve).

    Sample folders, annotation JSONs and skeleton/EMG/physio files of later samples are left
    out; the Split_4 files are copied whole, so they still list all twelve.
    """

    def copy(n: int) -> Path:
        def later_samples(folder: str, names: list[str]) -> list[str]:
            return [name for name in names if (s := name.split(".")[0]).isdigit() and int(s) > n]

        return Path(shutil.copytree(flex_root, tmp_path / f"first-{n}", ignore=later_samples))

    return copy


@pytest.fixture()
def faqa_copy(faqa_root, tmp_path) -> Path:
    """A private, writable copy of the Fitness-AQA fixture for tests that damage files."""
    return Path(shutil.copytree(faqa_root, tmp_path / "ds"))


def fixture_data_overrides(root: Path, tmp_path: Path, batch_size: int) -> list[str]:
    """The data overrides of a run on a fixture dataset: its cache under `tmp_path`, no
    loader or cache workers, a random split."""
    return [
        f"data.reader.root={root}",
        f"data.cache.dir={tmp_path / 'cache'}",
        "data.cache.workers=1",
        "data.loader.num_workers=0",
        f"data.loader.batch_size={batch_size}",
        "data.split.protocol=random",
    ]


def fast_dev_overrides(root: Path, tmp_path: Path) -> list[str]:
    """`fusion train` overrides for one fast_dev_run batch on a fixture dataset."""
    return [*fixture_data_overrides(root, tmp_path, 2), "trainer.fast_dev_run=true"]


def short_run_overrides(root: Path, tmp_path: Path) -> list[str]:
    """`fusion train` overrides for one epoch of two batches of 4 on a fixture dataset,
    writing its run folder under `tmp_path / 'runs'`."""
    return [
        *fixture_data_overrides(root, tmp_path, 4),
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.enable_progress_bar=false",
        f"out={tmp_path / 'runs'}",
    ]


@pytest.fixture(scope="session")
def short_run() -> Callable[[Path, Path], list[str]]:
    """Makes the overrides of a one-epoch, two-batch run on a fixture dataset (root, tmp_path)."""
    return short_run_overrides


@pytest.fixture(scope="session")
def fast_dev() -> Callable[[Path, Path], list[str]]:
    """Makes the overrides of one fast_dev_run batch on a fixture dataset (root, tmp_path)."""
    return fast_dev_overrides


@pytest.fixture(scope="session")
def text_config() -> Callable[..., dict]:
    """Makes a light text-task run config: pose + physio, concat fusion, a 64-wide LM."""

    def make(root: Path, cache: Path, *extra: str) -> dict:
        config = compose(
            None,
            [
                "task=text",
                f"data.reader.root={root}",
                f"data.cache.dir={cache}",
                "data.cache.workers=1",
                "data.loader.num_workers=0",
                "data.loader.batch_size=4",
                "data.split.protocol=random",
                "data.augment=[]",
                "model.modalities=[pose,physio]",
                "model.dim=32",
                "model.encoders.pose.dim=32",
                "model.encoders.physio.dim=16",
                "model.lm.hidden=64",
                "model.lm.intermediate=128",
                "model.lm.heads=2",
                "model.lm.kv_heads=1",
                *extra,
            ],
        )
        config.model.fuser = {"name": "concat", "dropout": 0.0}
        return to_container(config)

    return make


# Every modality, small widths and few layers: a traced or exported graph grows with each
# layer and time bin, and torch.export's shape reasoning takes seconds per hundred nodes.
TINY_AQA = (
    "model.encoders.video.backbone=test_efficientnet",
    "model.encoders.video.dim=16",
    "model.encoders.pose.dim=16",
    "model.encoders.pose.layers=1",
    "model.encoders.emg.dim=16",
    "model.encoders.emg.layers=1",
    "model.encoders.physio.dim=8",
    "model.encoders.physio.layers=1",
    "model.dim=16",
    "model.fuser.layers=1",
    "model.fuser.heads=2",
    "model.head.hidden=16",
    "model.head.time_bins=4",
)


@pytest.fixture(scope="session")
def aqa_checkpoint(flex_root, short_run, tmp_path_factory) -> Path:
    """best.ckpt of a one-epoch, two-batch AQA run on the FLEX fixture (metrics.json beside),
    shared by the export and predict tests."""
    tmp = tmp_path_factory.mktemp("export-run")
    config = compose(
        None, [*short_run(flex_root, tmp), *TINY_AQA, "trainer.enable_model_summary=false"]
    )
    folder, _ = train(config)
    return folder / "checkpoints" / "best.ckpt"
