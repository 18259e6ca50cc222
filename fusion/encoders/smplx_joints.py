"""SMPL-X parameters per frame -> the 22 body joints, through an smplx body model file."""

from __future__ import annotations

import pickle
from pathlib import Path

import smplx
import torch
from smplx.lbs import batch_rigid_transform, batch_rodrigues, blend_shapes, vertices2joints
from torch import nn

from fusion.data.skeletons import SMPLX_BODY22

# Per-frame pose vector, in this order: (name, size); betas has num_betas entries (None here).
# transl in metres, global_orient and body_pose (21 body joints x 3) axis-angle in radians.
SMPLX_PARAMS: tuple[tuple[str, int | None], ...] = (
    ("transl", 3),
    ("global_orient", 3),
    ("body_pose", 63),
    ("betas", None),
)
GENDERS: tuple[str, ...] = ("neutral", "male", "female")
MODEL_SUFFIXES: tuple[str, ...] = (".npz", ".pkl")


def smplx_param_sizes(num_betas: int) -> dict[str, int]:
    """Size of each SMPLX_PARAMS field for `num_betas` shape coefficients (P = their sum)."""
    return {name: num_betas if size is None else size for name, size in SMPLX_PARAMS}


def smplx_model_file(model_path: str | Path, gender: str = "neutral") -> Path:
    """The model file: `model_path` itself, or SMPLX_<GENDER>.npz in that folder or in its
    `smplx/` subfolder (the layout smplx.create expects)."""
    path = Path(model_path)
    expected = f"SMPLX_{gender.upper()}.npz"
    if path.is_dir():
        for candidate in (path / expected, path / "smplx" / expected):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(
            f"SMPL-X model folder {path} holds no {expected} (nor smplx/{expected})"
        )
    if not path.exists():
        raise FileNotFoundError(
            f"SMPL-X model {path} does not exist; expected {expected} or a folder holding it"
        )
    if path.suffix not in MODEL_SUFFIXES:
        raise ValueError(f"SMPL-X model {path}: expected a {' or '.join(MODEL_SUFFIXES)} file")
    return path


class SMPLXJoints(nn.Module):
    """(B, L, P) SMPL-X parameters (SMPLX_PARAMS order) -> (B, L, 22, 3) body joints in metres.

    The joints are smplx's own: its model loader, joint regressor, shape blend shapes,
    Rodrigues formula and forward kinematics (smplx.lbs). SMPL-X's joints are regressed from
    the shaped rest mesh, so the regressor is folded into the template and shape directions
    once here; pose blend shapes and skinning move only vertices and are skipped. Hands, jaw,
    eyes and expression are held at zero: hands and face hang below the wrists and head and
    move no body joint, and a zero expression leaves the shape alone, so flat hand mean or not
    changes nothing here and all-zero parameters give the model's rest joints.
    Nothing is trainable; the tensors are non-persistent buffers (rebuilt from the model file,
    kept out of checkpoints) that `.to(device)` moves.
    """

    def __init__(self, model_path: str, num_betas: int = 10, gender: str = "neutral") -> None:
        super().__init__()
        if gender not in GENDERS:
            raise ValueError(f"SMPL-X gender {gender!r} must be one of {GENDERS}")
        path = smplx_model_file(model_path, gender)
        try:
            model = smplx.SMPLX(str(path), num_betas=num_betas, gender=gender, ext=path.suffix[1:])
        except (AttributeError, KeyError, OSError, ValueError, pickle.UnpicklingError) as err:
            raise ValueError(f"{path}: not an SMPL-X model file in smplx's format ({err})") from err
        if model.num_betas != num_betas:
            raise ValueError(
                f"{path}: has {model.num_betas} shape components, num_betas={num_betas} asked"
            )
        count = len(SMPLX_BODY22.joints)
        parents = model.parents[:count]
        if model.J_regressor.shape[0] < count or parents.tolist() != list(SMPLX_BODY22.parents):
            raise ValueError(
                f"{path}: kinematic tree {model.parents.tolist()} does not start with the "
                f"SMPL-X body tree {list(SMPLX_BODY22.parents)}"
            )
        regressor = model.J_regressor[:count]
        rest = vertices2joints(regressor, model.v_template[None])[0]
        shape_dirs = torch.einsum("jv,vkl->jkl", regressor, model.shapedirs)
        self.register_buffer("rest_joints", rest, persistent=False)
        self.register_buffer("joint_shapedirs", shape_dirs, persistent=False)
        self.register_buffer("parents", parents.clone(), persistent=False)
        self.sizes = smplx_param_sizes(num_betas)
        self.num_params = sum(self.sizes.values())
        self.model_file = path

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        """(B, L, P) parameters -> (B, L, 22, 3) joints, smplx's batch being the B * L frames."""
        if params.ndim != 3 or params.shape[-1] != self.num_params:
            layout = ", ".join(f"{name} ({size})" for name, size in self.sizes.items())
            raise ValueError(
                f"SMPL-X joints: expected (B, L, {self.num_params}) parameters laid out as "
                f"{layout}, got {tuple(params.shape)}"
            )
        b, length, _ = params.shape
        flat = params.reshape(b * length, self.num_params)
        transl, orient, body, betas = flat.split(list(self.sizes.values()), dim=-1)
        rest = self.rest_joints + blend_shapes(betas, self.joint_shapedirs)
        count = len(self.parents)
        rotations = batch_rodrigues(torch.cat([orient, body], -1).reshape(-1, 3))
        rotations = rotations.reshape(b * length, count, 3, 3)
        posed, _ = batch_rigid_transform(rotations, rest, self.parents, dtype=params.dtype)
        return (posed + transl[:, None]).reshape(b, length, count, 3)
