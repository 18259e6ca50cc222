"""Worker pools started after PyAV decoded in this process finish (fork used to hang them).

With av 18.1.1 a pool forked after `decode_mp4` ran here hung 8 times in 8 in
`sws_scale_frame`: the children inherit FFmpeg's slice-thread pool without its threads. Each
test first decodes in this process, then starts a pool; `timeout` turns a hang into a failure
with every thread's stack instead of a stalled suite.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from fusion.data.check import check_dataset
from fusion.data.config import ReaderConfig
from fusion.data.datamodule import FusionDataModule
from fusion.data.fitness_aqa import decode_mp4
from fusion.data.readers import open_reader
from fusion.pools import PRELOAD, worker_context

HANG_LIMIT_S = 120


def decode_here(root: Path) -> None:
    """Run PyAV's decoder and frame converter in this process, as a test or a user might."""
    frames, *_ = decode_mp4(next((root / "videos").glob("*.mp4")), 30.0)
    assert frames.ndim == 4 and frames.shape[-1] == 3


def test_pools_start_from_the_forkserver():
    assert worker_context().get_start_method() == "forkserver"


@pytest.mark.parametrize("name", PRELOAD)
def test_every_preloaded_module_exists(name):
    # The forkserver skips a name it cannot import without a word: a module that moved would
    # only make every worker start cold.
    assert importlib.util.find_spec(name) is not None, name


@pytest.mark.timeout(HANG_LIMIT_S)
def test_a_check_pool_after_decoding_here_finishes(faqa_root):
    decode_here(faqa_root)
    reader = open_reader(ReaderConfig(root=str(faqa_root)))
    pooled = check_dataset(reader, workers=2, progress=False)
    assert pooled.ok and pooled.readable == pooled.checked == 12


@pytest.mark.timeout(HANG_LIMIT_S)
def test_a_cache_build_and_live_loaders_after_decoding_here_finish(faqa_root, tmp_path):
    decode_here(faqa_root)
    config = {
        "reader": {"root": str(faqa_root)},
        "cache": {"dir": str(tmp_path / "cache"), "workers": 2},
        "loader": {"batch_size": 4, "num_workers": 2, "persistent_workers": False},
        "split": {"protocol": "random"},
    }
    cached = FusionDataModule(config, progress=False)
    cached.prepare_data()
    cached.setup()
    assert cached.train_dataloader().multiprocessing_context is None  # fork: memory maps only
    cached_batch = next(iter(cached.train_dataloader()))

    live = FusionDataModule(config | {"cache": {"enabled": False}}, progress=False)
    live.setup()
    loader = live.train_dataloader()
    assert loader.multiprocessing_context.get_start_method() == "forkserver"
    live_batch = next(iter(loader))
    assert live_batch["video"].shape[2:] == cached_batch["video"].shape[2:]
