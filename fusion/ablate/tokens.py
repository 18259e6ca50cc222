"""Before a study's grid: the tokens its feature-mode runs will read, extracted in one pass
over the clips per data and encoder source, for every modality those runs fuse, on all the
cores. Left to the runs, each builds only its own modalities, one pass each, on its share of
the cores, while the run beside it waits on the cache lock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

from omegaconf import DictConfig

from fusion.config import to_container
from fusion.constants import MODALITIES


def token_sources(configs: Iterable[DictConfig | None]) -> list[DictConfig]:
    """One config per distinct (data, features, encoder options) among the feature-mode
    configs whose frozen encoders come from a checkpoint, fusing the union of their
    modalities. (Runs without `features.encoders_from` freeze their own initial weights,
    which a model of other modalities would not share.)"""
    groups: dict[str, tuple[DictConfig, set[str]]] = {}
    for config in configs:
        if config is None or not config.features.enabled or not config.features.encoders_from:
            continue
        source = [to_container(config[k]) for k in ("data", "features")]
        source.append(to_container(config.model.encoders))
        key = json.dumps(source, sort_keys=True, default=str)
        modalities = groups.setdefault(key, (config, set()))[1]
        modalities.update(config.model.modalities)
    sources = []
    for config, modalities in groups.values():
        union = config.copy()
        union.model.modalities = [m for m in MODALITIES if m in modalities]
        sources.append(union)
    return sources


def build_tokens(config: DictConfig) -> None:
    """Extract (or find) the cached tokens of every modality `config`'s model fuses."""
    from fusion.data.datamodule import FusionDataModule
    from fusion.features import feature_datamodule
    from fusion.train import TASKS

    data = FusionDataModule(config.data, progress=False)
    task = TASKS[config.task.kind](to_container(config))
    feature_datamodule(config, data, task.model).cache.load()


def prepare_tokens(
    configs: Iterable[DictConfig | None], say: Callable[[str], None], prefix: str
) -> None:
    """Build the tokens of every source, a line for each; a source that fails is said and
    left to its runs, which then report the error themselves."""
    for config in token_sources(configs):
        modalities = ",".join(config.model.modalities)
        views = config.data.clip.views
        shown = f"{prefix} features {modalities}" + (f" (views {list(views)})" if views else "")
        started = time.perf_counter()
        try:
            build_tokens(config)
        except Exception as error:  # noqa: BLE001 - the runs that need it fail with it
            say(f"{shown}: FAILED: {type(error).__name__}: {error}")
            continue
        say(f"{shown}: ready in {(time.perf_counter() - started) / 60:.1f} min")
