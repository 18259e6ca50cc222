"""An ablation study file: a base run config plus axes, expanded into one run per grid point.

```yaml
ablation: modalities          # the study's name (marks the file as a `fusion ablate` file)
config: null                  # a `fusion train` YAML the runs start from (default: train.yaml)
pretrain:                     # runs trained once before the grid, in order; `@name` is its
  distill: [task=pose_distill, model=pose_distill, data=small_distill]  # checkpoint (a later
  encoders: [trainer.max_epochs=6, model.encoders_from=@distill]          # one may use it)
base: [features.enabled=true, features.encoders_from=@encoders]  # overrides every run shares
axes:                         # the grid: the product of every axis's values
  modalities:                 # value name -> the overrides it stands for
    pose: ["model.modalities=[pose]"]   # quoted: YAML reads [..] inside [..] as a list
    all: []
  model.fuser.name: [concat, transformer]   # a list: `<axis>=<value>` each
exclude: [{modalities: pose, model.fuser.name: concat}]   # grid points left out
seeds: [0, 1]
metrics: [test/rho_fkg, test/error_f1]     # the table's and plots' columns
checks: [{metric: test/rho_fkg, better: {modalities: all}, worse: {modalities: pose}}]
```
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fusion.bench.spec import read_spec
from fusion.config import ConfigError

SPEC_KEYS = {
    "ablation", "config", "pretrain", "base", "axes", "exclude", "seeds", "metrics", "checks", "out"
}  # fmt: skip
DEFAULT_METRICS = ("test/rho", "test/rho_fkg", "test/error_f1", "test/action_acc")


@dataclass(frozen=True)
class Check:
    """A claim the table tests: `better`'s runs beat `worse`'s on `metric` beyond the seed
    spread (mean - std of the better above mean + std of the worse)."""

    metric: str
    better: dict[str, str]
    worse: dict[str, str]


@dataclass(frozen=True)
class PlannedRun:
    """One grid point and seed: the axis values that name it and the overrides they mean."""

    axes: dict[str, str]
    seed: int
    overrides: list[str]

    @property
    def label(self) -> str:
        """`axis=value,...,seed=N`: how progress lines and folders name the run."""
        return ",".join([*(f"{k}={v}" for k, v in self.axes.items()), f"seed={self.seed}"])


@dataclass
class AblationSpec:
    """A parsed study file."""

    path: Path
    name: str
    config: str | None
    base: list[str]
    axes: dict[str, dict[str, list[str]]]
    pretrain: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[dict[str, str]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [0])
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    checks: list[Check] = field(default_factory=list)
    out: str | None = None

    def runs(self) -> list[PlannedRun]:
        """Every grid point not excluded, for every seed (seeds innermost)."""
        names = list(self.axes)
        planned = []
        for values in itertools.product(*(list(self.axes[n]) for n in names)):
            point = dict(zip(names, values, strict=True))
            if any(all(point[k] == v for k, v in rule.items()) for rule in self.exclude):
                continue
            overrides = [o for n in names for o in self.axes[n][point[n]]]
            for seed in self.seeds:
                planned.append(PlannedRun(point, seed, [*self.base, *overrides, f"seed={seed}"]))
        return planned


def _overrides(path: Path, where: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(o, str) and "=" in o for o in value):
        raise ConfigError(f"{path}: {where}: expected a list of key=value overrides, got {value!r}")
    return list(value)


def _axis(path: Path, name: str, values: Any) -> dict[str, list[str]]:
    """An axis's values as name -> overrides; a plain list means `<name>=<value>` each."""
    if isinstance(values, list) and values and not any(isinstance(v, dict | list) for v in values):
        return {str(v): [f"{name}={v}"] for v in values}
    if isinstance(values, dict) and values:
        return {str(k): _overrides(path, f"axes.{name}.{k}", v) for k, v in values.items()}
    raise ConfigError(
        f"{path}: axes.{name}: expected a list of values or a mapping of value name -> "
        f"overrides, got {values!r}"
    )


def _point(path: Path, where: str, value: Any, axes: dict[str, dict[str, list[str]]]) -> dict:
    """A partial grid point {axis: value name}; an unknown axis or value is a ConfigError."""
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{path}: {where}: expected a mapping of axis -> value, got {value!r}")
    point = {str(k): str(v) for k, v in value.items()}
    for axis, name in point.items():
        if axis not in axes:
            raise ConfigError(f"{path}: {where}: unknown axis {axis!r}; axes: {sorted(axes)}")
        if name not in axes[axis]:
            raise ConfigError(
                f"{path}: {where}: axis {axis} has no value {name!r}; values: {list(axes[axis])}"
            )
    return point


def load_spec(path: str | Path) -> AblationSpec:
    """Read and check a study file; a bad key or value is a ConfigError naming the file."""
    path = Path(path)
    raw = read_spec(path, SPEC_KEYS, marker="ablation")
    name = str(raw["ablation"])
    if name in ("", ".", "..") or "/" in name or "\\" in name:
        raise ConfigError(
            f"{path}: ablation: {name!r} is not a plain name; expected a study name without "
            "path separators (it names the folder runs/ablate/<name>)"
        )
    axes_raw = raw.get("axes")
    if not isinstance(axes_raw, dict) or not axes_raw:
        raise ConfigError(f"{path}: axes: expected a mapping of axis name -> values")
    if "seed" in axes_raw:
        raise ConfigError(f"{path}: axes.seed: seeds are their own key (`seeds: [0, 1]`)")
    axes = {str(name): _axis(path, str(name), values) for name, values in axes_raw.items()}
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(type(s) is int for s in seeds):
        raise ConfigError(f"{path}: seeds: expected a non-empty list of integers, got {seeds!r}")
    metrics = raw.get("metrics", list(DEFAULT_METRICS))
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise ConfigError(f"{path}: metrics: expected a list of metric names, got {metrics!r}")
    exclude = [
        _point(path, f"exclude[{i}]", rule, axes) for i, rule in enumerate(raw.get("exclude", []))
    ]
    checks = []
    for i, check in enumerate(raw.get("checks", [])):
        if not isinstance(check, dict) or set(check) != {"metric", "better", "worse"}:
            raise ConfigError(f"{path}: checks[{i}]: expected keys metric, better, worse")
        checks.append(
            Check(
                metric=str(check["metric"]),
                better=_point(path, f"checks[{i}].better", check["better"], axes),
                worse=_point(path, f"checks[{i}].worse", check["worse"], axes),
            )
        )
    pretrain = raw.get("pretrain") or {}
    if not isinstance(pretrain, dict):
        raise ConfigError(f"{path}: pretrain: expected a mapping of name -> overrides")
    pretrain = {str(k): _overrides(path, f"pretrain.{k}", v) for k, v in pretrain.items()}
    for i, (run, overrides) in enumerate(pretrain.items()):
        earlier = list(pretrain)[:i]
        for item in overrides:
            value = item.split("=", 1)[1]
            if value.startswith("@") and value[1:] not in earlier:
                raise ConfigError(
                    f"{path}: pretrain.{run}: {item} names no earlier pretrain run; "
                    f"before it: {earlier}"
                )
    base = _overrides(path, "base", raw.get("base"))
    for where, overrides in [("base", base)] + [
        (f"axes.{a}.{v}", o) for a, values in axes.items() for v, o in values.items()
    ]:
        for item in overrides:
            value = item.split("=", 1)[1]
            if value.startswith("@") and value[1:] not in pretrain:
                raise ConfigError(
                    f"{path}: {where}: {item} names no pretrain run; pretrain: {sorted(pretrain)}"
                )
    spec = AblationSpec(
        path=path,
        name=name,
        config=raw.get("config"),
        base=base,
        axes=axes,
        pretrain=pretrain,
        exclude=exclude,
        seeds=seeds,
        metrics=list(metrics),
        checks=checks,
        out=raw.get("out"),
    )
    if not spec.runs():
        raise ConfigError(f"{path}: exclude leaves no run of the grid")
    return spec
