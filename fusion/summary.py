"""The final table a training run prints."""

from __future__ import annotations

from typing import Any

ROWS: tuple[tuple[str, str], ...] = (
    ("test/rho", "Spearman rho (direct score)"),
    ("test/rho_fkg", "Spearman rho (FKG score)"),
    ("test/rl2", "R-l2 x100 (direct)"),
    ("test/rl2_fkg", "R-l2 x100 (FKG)"),
    ("test/mae", "score MAE"),
    ("test/action_acc", "action accuracy"),
    ("test/error_f1", "error macro-F1"),
    ("test/error_ap", "error macro-AP"),
    ("test/temporal_ap", "temporal mAP @ tIoU 0.5"),
    ("test/parse_rate", "answers parsed"),
    ("test/bleu", "BLEU"),
    ("test/chrf", "chrF++"),
    ("test/mpjpe_mm", "MPJPE mm (all views)"),
    ("test/view_mpjpe_mm", "MPJPE mm (one view)"),
    ("test/baseline_mpjpe_mm", "MPJPE mm (action mean pose)"),
)


def format_metrics(metrics: dict[str, Any]) -> str:
    """A two-column table of the test metrics that exist in `metrics`."""
    lines = [f"{'metric':<30} value", f"{'-' * 30} -----"]
    lines += [f"{label:<30} {metrics[key]:.3f}" for key, label in ROWS if key in metrics]
    return "\n".join(lines)
