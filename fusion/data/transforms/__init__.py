"""Sample transforms composed from config: video, pose, EMG, physio and the horizontal flip.

Importing the package registers every transform, so `build_transforms` knows all their names.
"""

from fusion.data.transforms import (  # noqa: F401  (registers transforms)
    person_crop,
    physio,
    pose,
    video,
)
from fusion.data.transforms.base import (
    TRANSFORMS,
    Compose,
    Transform,
    build_transform,
    build_transforms,
    register,
)
from fusion.data.transforms.emg import fit_channel_stats
from fusion.data.transforms.flip import HorizontalFlip, hflip

__all__ = [
    "TRANSFORMS",
    "Compose",
    "HorizontalFlip",
    "Transform",
    "build_transform",
    "build_transforms",
    "fit_channel_stats",
    "hflip",
    "register",
]
