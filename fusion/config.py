"""Run configuration: typed schema, YAML config groups under configs/, dotlist overrides.

A run config names one file per group (`data: small`, `model: default`, ...) in
`configs/train.yaml` or a user file; each group file is merged into the typed schema, then
`key=value` overrides. Unknown keys and wrong types are refused with the key's name.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fusion.checkpoints import first_line
from fusion.constants import MODALITIES
from fusion.data.config import DataConfig, EnvelopeConfig
from fusion.yamltext import alias_problem, cut, read_yaml_text

CONFIG_ROOT = Path(__file__).resolve().parent.parent / "configs"
GROUPS: tuple[str, ...] = ("data", "model", "task", "trainer")


# `key.name=...` overrides that swap a component: its other options are dropped first.
SWAPPABLE = {"model.fuser.name", *(f"model.encoders.{m}.name" for m in MODALITIES)}


class ConfigError(ValueError):
    """A config that cannot be used: names the file or key and what was expected."""


@dataclass
class HeadConfig:
    """The AQA head: hidden width, dropout, the time bins of the per-frame error logits, and
    the per-action deviation path (`fusion.heads.deviation`)."""

    hidden: int = 128
    dropout: float = 0.1
    time_bins: int = 16
    deviation: bool = False
    deviation_source: str = "fused"  # fused | encoders: what the deviation path reads


@dataclass
class ModelConfig:
    modalities: list[str] = field(default_factory=lambda: list(MODALITIES))
    dim: int = 128
    encoders: dict[str, Any] = field(default_factory=dict)  # modality -> {name, **kwargs}
    fuser: dict[str, Any] = field(default_factory=lambda: {"name": "transformer"})
    head: HeadConfig = field(default_factory=HeadConfig)
    # A fusion train checkpoint (e.g. a pose_distill run) whose encoders start this model:
    # every encoder it has that this model has too. None: random initial weights.
    encoders_from: str | None = None
    # Module path (e.g. encoders.video) -> learning-rate factor; 0 freezes the module.
    lr_factors: dict[str, float] = field(default_factory=dict)


@dataclass
class LossWeights:
    action: float = 1.0
    errors: float = 1.0
    frames: float = 0.5
    score: float = 1.0
    fkg_score: float = 0.5


@dataclass
class TaskConfig:
    kind: str = "aqa"  # aqa | text: which task trains (configs/task/<name>.yaml sets it)
    loss: LossWeights = field(default_factory=LossWeights)
    lr: float = 1e-3
    weight_decay: float = 0.01
    error_pos_weight: float = 1.0  # BCE weight of a present error against an absent one
    score_loss: str = "mse"  # mse | huber, on both scores in units of the score spread
    huber_delta: float = 1.0  # score spreads (20 points) where the Huber loss turns linear
    warmup_epochs: int = 1
    error_threshold: float | None = None  # None: tuned on validation, kept in the checkpoint
    span_threshold: float | None = None  # per-bin probability that makes a span; None: tuned
    fkg: str | None = None  # FKG YAML; None = configs/fkg/flex.yaml


@dataclass
class TrainerConfig:
    max_epochs: int = 20
    accelerator: str = "auto"
    devices: Any = "auto"
    precision: str = "32-true"
    strategy: str = "auto"
    num_nodes: int = 1
    gradient_clip_val: float = 1.0
    log_every_n_steps: int = 5
    check_val_every_n_epoch: int = 1  # fewer validations for short epochs of many-epoch runs
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    fast_dev_run: bool = False
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    accumulate_grad_batches: int = 1  # optimiser step every N batches (gradients summed)
    compile: bool = False  # torch.compile the model in place (keys and checkpoints unchanged)


@dataclass
class FeaturesConfig:
    """Feature-cache mode (`fusion.features`): the encoders are frozen, their tokens are
    computed once per (encoder weights, data) and the fuser and head train on them."""

    enabled: bool = False
    dir: str = "data/features"
    encoders_from: str | None = None  # a fusion train checkpoint; None: this run's initial weights
    train_passes: int = 4  # augmented passes over the training set; an epoch draws one per clip
    seed: int = 0  # draws the passes' augmentation; not the run's seed, so seeds share them


@dataclass
class RunConfig:
    name: str = "aqa"
    seed: int = 0
    out: str = "runs"
    resume: str | None = None  # a last.ckpt, or auto: the last unfinished run of this config
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)


@dataclass
class LMConfig:
    """The text head's causal LM: a local checkpoint, or the tiny random Qwen2 sized here."""

    pretrained: str | None = None  # a save_pretrained folder (model + tokenizer)
    vocab_size: int = 1024  # BPE size of the tokenizer built from the FKG and templates
    hidden: int = 128
    intermediate: int = 256
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    max_length: int = 512  # positions: prompt + modality tokens + answer


@dataclass
class LoRAConfig:
    """LoRA adapters on the LM (peft); r = 0 turns them off."""

    r: int = 0
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )


@dataclass
class TextModelConfig(ModelConfig):
    """Encoders and fuser as in AQA, a projector (`linear` | `mlp2x_gelu`) and the LM."""

    projector: str = "mlp2x_gelu"
    tokens_per_modality: int = 8  # fused tokens resampled per modality into the prompt
    lm: LMConfig = field(default_factory=LMConfig)
    tunable_parts: list[str] = field(default_factory=lambda: ["projector", "encoders", "lm"])
    lora: LoRAConfig = field(default_factory=LoRAConfig)
    # A fusion train checkpoint whose encoders and fuser start it (a pose_distill run's:
    # the video encoder only).
    encoders_from: str | None = None


@dataclass
class TextTaskConfig:
    """The text task: what is asked, how answers are worded, and the optimiser."""

    kind: str = "text"
    style: str = "study"  # study (one prompt type) | flex-videoqa (the four questions)
    prompt: str = "errors"  # study: basic | errors | temporal
    with_score: bool = False  # study answers end with the 0-100 score when it is known
    paraphrase: bool = True  # training answers in a random paraphrase (evaluation: the first)
    max_new_tokens: int = 96
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_epochs: int = 1
    fkg: str | None = None  # FKG YAML; None = configs/fkg/flex.yaml


@dataclass
class TextRunConfig:
    name: str = "text"
    seed: int = 0
    out: str = "runs"
    resume: str | None = None  # a last.ckpt, or auto: the last unfinished run of this config
    data: DataConfig = field(default_factory=DataConfig)
    model: TextModelConfig = field(default_factory=TextModelConfig)
    task: TextTaskConfig = field(default_factory=TextTaskConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


@dataclass
class PoseDistillModelConfig:
    """The video encoder that pose distillation trains (`fusion.models.pose_distill`)."""

    modalities: list[str] = field(default_factory=lambda: ["video", "pose"])
    encoders: dict[str, Any] = field(default_factory=dict)  # video -> {name, **kwargs}
    joints: int = 21
    encoders_from: str | None = None  # a checkpoint whose video encoder it continues
    lr_factors: dict[str, float] = field(default_factory=dict)  # module path -> LR factor


@dataclass
class PoseDistillTaskConfig:
    kind: str = "pose_distill"
    view_weight: float = 1.0  # L1 of each view's own joints, beside the pooled views' L1
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_epochs: int = 1


@dataclass
class PoseDistillRunConfig:
    name: str = "pose_distill"
    seed: int = 0
    out: str = "runs"
    resume: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    model: PoseDistillModelConfig = field(default_factory=PoseDistillModelConfig)
    task: PoseDistillTaskConfig = field(default_factory=PoseDistillTaskConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


RUN_SCHEMAS: dict[str, type] = {
    "aqa": RunConfig,
    "text": TextRunConfig,
    "pose_distill": PoseDistillRunConfig,
}


@dataclass
class EMGModelConfig:
    """A Video->EMG model: `learned` (encoders + EMG head) or a non-learned baseline,
    `action_mean` (the training clips' mean envelope of the action) or `nearest` (the envelope
    of the closest training clip by `features`). `channels` and `pairs` come from the data."""

    kind: str = "learned"  # learned | action_mean | nearest
    modalities: list[str] = field(default_factory=lambda: ["video"])
    encoders: dict[str, Any] = field(default_factory=dict)  # modality -> {name, **kwargs}
    dim: int = 64
    decoder_layers: int = 3
    harmonics: int = 4  # phase features: the clip fraction and this many sine/cosine pairs
    templates: bool = True  # learned: one curve per exercise, mixed by the recognised exercise
    actions: list[str] = field(default_factory=list)  # exercise names, set from the data
    features: str = "pose"  # nearest: pose | video
    grid: int = 32  # baselines: points of the time-normalised curves they compare and average
    channels: int = 16
    pairs: int = 8
    encoders_from: str | None = None  # a fusion train checkpoint whose encoders start it
    lr_factors: dict[str, float] = field(default_factory=dict)  # module path -> LR factor


@dataclass
class EMGTaskConfig:
    """Video->EMG losses and optimiser, and how the target envelope is made."""

    loss: str = "l1"  # l1 | mse, on the normalised envelope's real rows
    contribution_weight: float = 1.0  # MSE of the left/right shares, beside the envelope loss
    action_weight: float = 0.2  # cross-entropy of the recognised exercise (with templates)
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_epochs: int = 1
    envelope: EnvelopeConfig = field(default_factory=EnvelopeConfig)


@dataclass
class Video2EMGRunConfig:
    name: str = "video2emg"
    seed: int = 0
    out: str = "runs"
    resume: str | None = None  # a last.ckpt, or auto: the last unfinished run of this config
    data: DataConfig = field(default_factory=DataConfig)
    model: EMGModelConfig = field(default_factory=EMGModelConfig)
    task: EMGTaskConfig = field(default_factory=EMGTaskConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


def merge_config(schema: type, *parts: Any) -> DictConfig:
    """`schema`'s defaults merged with each mapping in turn; bad keys are a ConfigError."""
    try:
        merged = OmegaConf.structured(schema)
        for part in parts:
            merged = OmegaConf.merge(merged, part)
    except OmegaConfBaseException as error:
        raise _config_error(error) from None
    return merged


def _config_error(error: OmegaConfBaseException) -> ConfigError:
    key = getattr(error, "full_key", None)
    problem = str(error).splitlines()[0]
    return ConfigError(f"config: {key}: {problem}" if key else f"config: {problem}")


def checked_yaml_text(path: Path, what: str = "config") -> str:
    """The text of a YAML file that exists, is UTF-8 and uses no aliases; else a ConfigError
    naming the file (`what` says which kind of file was expected)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such {what} file")
    try:
        text = read_yaml_text(path)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    alias = alias_problem(text)
    if alias is not None:
        raise ConfigError(f"{path}: {alias}")
    return text


def _load(path: Path) -> DictConfig:
    text = checked_yaml_text(path)
    try:
        loaded = OmegaConf.load(io.StringIO(text))
    except (OSError, ValueError, OmegaConfBaseException) as error:
        raise ConfigError(f"{path}: not valid YAML ({cut(first_line(error))})") from None
    if not isinstance(loaded, DictConfig):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return loaded


def load_group(group: str, value: str, seen: tuple[Path, ...] = ()) -> DictConfig:
    """A group file; `extends: <name>` in it loads that file of the group first, then merges."""
    path = _group_file(group, value)
    if path in seen:
        chain = " -> ".join(str(p) for p in (*seen, path))
        raise ConfigError(f"{path}: extends itself ({chain})")
    loaded = _load(path)
    parent = loaded.pop("extends", None)
    if parent is None:
        return loaded
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends: expected the name of a {group} config, got {parent!r}")
    return OmegaConf.merge(load_group(group, parent, (*seen, path)), loaded)


def _group_file(group: str, value: str) -> Path:
    """`small` -> configs/data/small.yaml; a path ending in .yaml is taken as is."""
    if value.endswith((".yaml", ".yml")):
        return Path(value)
    path = CONFIG_ROOT / group / f"{value}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (CONFIG_ROOT / group).glob("*.yaml"))
        raise ConfigError(f"{group}: no config named {value!r}; known: {', '.join(known)}")
    return path


def compose(
    config: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> DictConfig:
    """The run config from a top-level YAML (default configs/train.yaml) and `key=value`s."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key=value")
    if config and not Path(config).exists() and not str(config).endswith((".yaml", ".yml")):
        raise ConfigError(
            f"{config}: neither a config file nor an override: expected a run YAML, or "
            f"key=value (e.g. {config}=VALUE)"
        )
    top = _load(Path(config) if config else CONFIG_ROOT / "train.yaml")
    try:
        group_overrides = [o for o in overrides if o.split("=", 1)[0] in GROUPS]
        choices = OmegaConf.merge(top, OmegaConf.from_dotlist(group_overrides))
        merged = OmegaConf.structured(RUN_SCHEMAS[_task_kind(choices.get("task"), overrides)])
        for group in GROUPS:
            choice = choices.get(group)
            if isinstance(choice, str):
                merged = OmegaConf.merge(merged, {group: load_group(group, choice)})
                top[group] = {}
            elif group in top and top[group] is None:
                top[group] = {}
        merged = OmegaConf.merge(merged, top)
        rest = [o for o in overrides if o.split("=", 1)[0] not in GROUPS]
        for item in rest:
            key, value = item.split("=", 1)
            if key in SWAPPABLE:
                # A new fuser/encoder name starts from its own defaults, not the old one's options.
                OmegaConf.update(merged, key.rsplit(".", 1)[0], {"name": value}, merge=False)
        merged = OmegaConf.merge(merged, OmegaConf.from_dotlist(rest))
    except OmegaConfBaseException as error:
        raise _config_error(error) from None
    return merged


def _task_kind(task: Any, overrides: list[str] | tuple[str, ...]) -> str:
    """`aqa` or `text`: a `task.kind=` override, else the chosen task file's or mapping's kind."""
    kind = "aqa"
    if isinstance(task, str):
        kind = load_group("task", task).get("kind", "aqa")
    elif isinstance(task, DictConfig):
        kind = task.get("kind", "aqa")
    for item in overrides:
        if item.startswith("task.kind="):
            kind = item.split("=", 1)[1]
    if kind not in RUN_SCHEMAS:
        raise ConfigError(f"config: task.kind: unknown {kind!r}; known: {', '.join(RUN_SCHEMAS)}")
    return kind


def to_container(config: DictConfig) -> dict[str, Any]:
    """Plain, resolved dict (what a checkpoint stores)."""
    return OmegaConf.to_container(config, resolve=True)


# Keys that name, show or restart a run but do not change what it computes.
UNHASHED = ("name", "out", "resume")
UNHASHED_TRAINER = ("enable_progress_bar", "enable_model_summary")


def run_key(config: DictConfig) -> str:
    """12 hex digits of the SHA-256 of the resolved config, less where it is written and how
    it is shown: two runs with the same key compute the same thing."""
    data = to_container(config)
    for key in UNHASHED:
        data.pop(key, None)
    for key in UNHASHED_TRAINER:
        data.get("trainer", {}).pop(key, None)
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def split_config_arg(args: argparse.Namespace) -> tuple[str | None, list[str]]:
    """`fusion train key=value` puts the first override where the config file goes."""
    if args.config is not None and "=" in args.config:
        return None, [args.config, *args.overrides]
    return args.config, list(args.overrides)
