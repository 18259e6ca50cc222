"""Dataset presets of the generator: who performs what, how often, at which video geometry."""

from __future__ import annotations

from dataclasses import dataclass, field

from fusion.synth.repetition import RenderSettings

# The share of Fitness-AQA clips showing each error file's error (`FITNESS_AQA_ERRORS` in
# fusion.data.layouts), close to the real dataset's imbalance (knees inward is rare, knees
# forward common).
FITNESS_AQA_RATES: dict[str, float] = {
    "knees_inward": 0.15,
    "knees_forward": 0.6,
    "elbows": 0.35,
    "knees": 0.25,
}


@dataclass(frozen=True)
class Preset:
    """Subjects per skill level, repetitions per action, video geometry, split fractions."""

    name: str
    skills: dict[str, int]
    reps: int
    render: RenderSettings
    fitness_aqa_reps: int
    test_fraction: float = 0.25
    val_fraction: float = 0.15
    actions: tuple[str, ...] = field(default_factory=tuple)  # empty: all actions of the FKG


PRESETS: dict[str, Preset] = {
    # Six of the twenty actions, so that a cross-subject test still has enough repetitions
    # of every error: all 20 actions at 2 repetitions left ~2 positives per error for training.
    # Together they show every kind of error (pose, sEMG-only, physio-only) and both the
    # Fitness-AQA exercises (A01, A06). Ten repetitions, a set as in FLEX: at six, a
    # cross-subject split left ~15 training positives per error and error macro-F1 near what
    # calling every error present gets; at ten a linear probe on pose + sEMG + HR/RR goes from
    # macro-F1 0.55 to 0.71 (BENCHMARKS.md). 160x208 frames: the lifter is ~96-100 px tall in
    # every view, about 1.8 cm a pixel (at 64x64 it was ~26 px, so an FKG error of a few
    # centimetres moved a joint by one pixel). Portrait, as the lifter is taller than wide.
    "small": Preset(
        name="small",
        skills={"expert": 4, "amateur": 4, "novice": 4},
        reps=10,
        render=RenderSettings(fps=10, width=160, height=208),
        fitness_aqa_reps=12,
        actions=("A01", "A03", "A06", "A07", "A13", "A15"),
    ),
    "flex": Preset(
        name="flex",
        skills={"expert": 10, "amateur": 8, "novice": 20},
        reps=10,
        render=RenderSettings(fps=30, width=224, height=224),
        fitness_aqa_reps=40,
    ),
}
