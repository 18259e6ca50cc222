"""Names the dataset layouts use, as data: read by the readers and written by the simulator.

The Fitness-AQA layout names its exercises in clip keys (`BackSquat_S03_007`) and its errors
in label files (`Labels/error_knees_inward.json`). The tables below place both in the FKG:
which action an exercise is, and which FKG error of that action each label file marks. They
are facts about the dataset, not choices of the simulator, so they live on the data side
(docs/data-layouts.md); the simulator imports them to write the same names.
"""

from __future__ import annotations

# Fitness-AQA label file `error_<name>.json` -> (FKG action, FKG error name).
FITNESS_AQA_ERRORS: dict[str, tuple[str, str]] = {
    "knees_inward": ("A01", "knees_inward"),
    "knees_forward": ("A01", "knees_forward"),
    "elbows": ("A06", "elbows"),
    "knees": ("A06", "knees"),
}
# FKG action -> the Fitness-AQA exercise that is it (the first part of a clip key).
FITNESS_AQA_EXERCISES: dict[str, str] = {"A01": "BackSquat", "A06": "OverheadPress"}
