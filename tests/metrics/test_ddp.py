"""Every metric gathered over two CPU processes (gloo) equals the metric on all the data."""

from __future__ import annotations

import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from fusion.metrics.errors import ActionAccuracy, ErrorAP, ErrorF1
from fusion.metrics.regression import RelativeL2, ScoreMAE, SpearmanRho
from fusion.metrics.temporal import TemporalAP


def make_data(rank: int) -> dict:
    """Each rank's share; rank 1 gets fewer samples so the gathered states have uneven sizes."""
    gen = torch.Generator().manual_seed(10 + rank)
    n = 30 - 10 * rank
    score = torch.rand(n, generator=gen) * 100
    # rank 0 has a gt and no prediction, rank 1 a prediction and no gt on the same span: both are
    # their rank's first sample, so colliding sample uids would wrongly match them
    segments = ([[]], [[(0, 1.0, 2.0)]]) if rank == 0 else ([[(0, 1.0, 2.0, 0.9)]], [[]])
    return {
        "score": (
            score + 10 * torch.randn(n, generator=gen),
            score,
            torch.rand(n, generator=gen) > 0.2,
        ),
        "action": (torch.randn(n, 5, generator=gen), torch.randint(0, 5, (n,), generator=gen)),
        "errors": (
            torch.rand(n, 3, generator=gen),
            (torch.rand(n, 3, generator=gen) < 0.4).float(),
            torch.rand(n, 3, generator=gen) > 0.3,
            torch.randint(0, 2, (n,), generator=gen),
        ),
        "segments": segments,
    }


def metrics() -> dict:
    """One of each metric, with its input group."""
    return {
        "rho": (SpearmanRho(), "score"),
        "rl2": (RelativeL2(), "score"),
        "mae": (ScoreMAE(), "score"),
        "acc": (ActionAccuracy(), "action"),
        "f1": (ErrorF1(3, num_groups=2), "errors"),
        "ap": (ErrorAP(3, num_groups=2), "errors"),
        "tap": (TemporalAP(1), "segments"),
    }


def run_rank(rank: int, port: int, out: Path) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    data = make_data(rank)
    results = {}
    for name, (metric, key) in metrics().items():
        metric.update(*data[key])
        results[name] = metric.compute()
    if rank == 0:
        torch.save(results, out)
    dist.destroy_process_group()


def test_gathered_metrics_equal_single_process_metrics(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "results.pt"
    mp.start_processes(run_rank, args=(port, out), nprocs=2, start_method="fork")
    gathered = torch.load(out)
    parts = [make_data(0), make_data(1)]
    for name, (metric, key) in metrics().items():
        for part in parts:
            metric.update(*part[key])
        torch.testing.assert_close(gathered[name], metric.compute(), equal_nan=True)
    assert gathered["tap"]["mAP"].item() == 0.0
