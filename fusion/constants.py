"""Names shared across the package: modalities, sEMG channels, label padding, LMM placeholders."""

MODALITIES: tuple[str, ...] = ("video", "pose", "emg", "physio")

# The 8 muscles recorded on both sides; a channel is `<muscle>_<side>`.
MUSCLES: tuple[str, ...] = (
    "deltoid",
    "biceps",
    "triceps",
    "trapezius",
    "latissimus",
    "erector_spinae",
    "gluteus_maximus",
    "quadriceps",
)
SIDES: tuple[str, ...] = ("left", "right")
# Channels 0-7 are the left muscles in MUSCLES order, 8-15 the right ones.
EMG_CHANNELS: tuple[str, ...] = tuple(f"{m}_{s}" for s in SIDES for m in MUSCLES)
EMG_SAMPLE_RATE: int = 2000

PHASES: tuple[str, ...] = ("preparation", "eccentric", "concentric")
SKILL_LEVELS: tuple[str, ...] = ("novice", "amateur", "expert")

IGNORE_INDEX: int = -100
PLACEHOLDER_TOKENS: dict[str, str] = {m: f"<{m}>" for m in MODALITIES}
