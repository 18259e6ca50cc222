"""Transform plumbing: the base class, the name registry, `Compose` and `build_transforms`.

A transform is a small dataclass called as `t(sample, rng) -> Sample`. It returns a new Sample
without touching the input's arrays, passes a sample through when its modality is missing, and
draws randomness only from `rng`, so a seed reproduces the result. `spec()` gives the registered
name and the fields as plain data: the cache hashes its preprocessing from it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar

import numpy as np
from omegaconf import DictConfig, ListConfig, OmegaConf

from fusion.data.sample import DataError, Sample

COMPOSE = "compose"


def plain(value: Any) -> Any:
    """Value as JSON-ready data: tuples and arrays become lists, mappings get string keys."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Transform(ABC):
    """Base of every transform: `__call__(sample, rng) -> Sample` and `spec()`."""

    name: ClassVar[str] = ""

    @abstractmethod
    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        """The transformed sample (a new one; the input is left as it was)."""

    def spec(self) -> dict[str, Any]:
        """Registered name and every field, as plain data (stable for a given config)."""
        return {"name": self.name, **{f.name: plain(getattr(self, f.name)) for f in fields(self)}}


TRANSFORMS: dict[str, type[Transform]] = {}
TransformClass = TypeVar("TransformClass", bound=type[Transform])


def register(name: str) -> Callable[[TransformClass], TransformClass]:
    """Class decorator: build_transforms finds the transform under `name`."""

    def add(cls: TransformClass) -> TransformClass:
        if name in TRANSFORMS or name == COMPOSE:
            raise ValueError(f"transform name {name!r} is already taken")
        cls.name = name
        TRANSFORMS[name] = cls
        return cls

    return add


@dataclass
class Compose(Transform):
    """Transforms applied in order, sharing one rng."""

    transforms: tuple[Transform, ...] = ()
    name: ClassVar[str] = COMPOSE

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        for transform in self.transforms:
            sample = transform(sample, rng)
        return sample

    def spec(self) -> dict[str, Any]:
        return {"name": COMPOSE, "transforms": [t.spec() for t in self.transforms]}


def build_transform(spec: Mapping[str, Any] | DictConfig) -> Transform:
    """One transform from `{"name": ..., field: value, ...}`; a `compose` spec nests a list."""
    if isinstance(spec, DictConfig):
        spec = OmegaConf.to_container(spec, resolve=True)
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ValueError(f"a transform spec is a mapping with a 'name' key, got {spec!r}")
    kwargs = dict(spec)
    name = kwargs.pop("name")
    if name == COMPOSE:
        unknown = sorted(set(kwargs) - {"transforms"})
        if unknown:
            raise ValueError(f"{COMPOSE}: unknown fields {unknown}; known: ['transforms']")
        return build_transforms(kwargs.get("transforms", []))
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; known: {sorted([*TRANSFORMS, COMPOSE])}")
    cls = TRANSFORMS[name]
    known = [f.name for f in fields(cls) if f.init]
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise ValueError(f"{name}: unknown fields {unknown}; known: {known}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: {err}") from err


def build_transforms(
    specs: Sequence[Mapping[str, Any] | DictConfig] | ListConfig | None,
) -> Compose:
    """A Compose from a list of specs (plain dicts or OmegaConf); empty or None = identity."""
    if isinstance(specs, ListConfig):
        specs = OmegaConf.to_container(specs, resolve=True)
    if isinstance(specs, Mapping | DictConfig | str):
        raise ValueError(f"transforms are configured as a list of specs, got {specs!r}")
    return Compose(tuple(build_transform(spec) for spec in specs or ()))


def sample_error(sample: Sample, modality: str, problem: str) -> DataError:
    """A DataError naming the modality's source file (or the sample key) and the problem."""
    path = sample.provenance.files.get(modality)
    if path:
        return DataError(path, problem, where=f"{modality} of {sample.key}")
    return DataError(sample.key, problem, where=modality)
