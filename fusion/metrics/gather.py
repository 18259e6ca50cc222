"""Epoch-end rows from every DDP process, for metrics worked out from whole lists."""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist


def world_size() -> int:
    """Processes in the initialised process group; 1 without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def gather_lists(items: list[Any]) -> list[Any]:
    """Every process's items, in rank order, on every process (as they are without DDP)."""
    if world_size() == 1:
        return items
    parts: list = [None] * world_size()
    dist.all_gather_object(parts, items)
    return [item for part in parts for item in part]


def gather_rows(rows: list[dict[str, Any]], device: torch.device) -> list[dict[str, Any]]:
    """`gather_lists` of per-sample dicts, their tensors sent as CPU ones and put on `device`."""
    if world_size() == 1:
        return rows

    def moved(row: dict[str, Any], to: torch.device | str) -> dict[str, Any]:
        return {k: v.to(to) if isinstance(v, torch.Tensor) else v for k, v in row.items()}

    return [moved(row, device) for row in gather_lists([moved(r, "cpu") for r in rows])]
