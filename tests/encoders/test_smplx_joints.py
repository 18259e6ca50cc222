"""SMPLXJoints and PoseEncoder(smplx_model=...) on tiny SMPL-X model files written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import smplx
import torch
from scipy.spatial.transform import Rotation

from fusion.data.skeletons import SMPLX_BODY22
from fusion.encoders.pose import PoseEncoder
from fusion.encoders.smplx_joints import SMPLXJoints, smplx_param_sizes

NUM_JOINTS = 55  # body 22, jaw and eyes 3, 15 per hand
NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9
SHAPE_COMPONENTS = 400  # 300 shape + 100 expression, as in SMPL-X v1.1 files
BODY = len(SMPLX_BODY22.joints)


def smplx_parents() -> list[int]:
    """SMPL-X's 55-joint tree: body, then jaw and eyes on the head, then 5 x 3 finger joints
    hanging from each wrist (smplx.joint_names order)."""
    head, wrists = SMPLX_BODY22.index("head"), (20, 21)
    parents = [*SMPLX_BODY22.parents, head, head, head]
    for wrist in wrists:
        for _ in range(5):
            base = len(parents)
            parents += [wrist, base, base + 1]
    return parents


def write_smplx_model(
    folder: Path,
    seed: int = 0,
    vertices_per_joint: int = 3,
    shape_components: int = SHAPE_COMPONENTS,
    drop: tuple[str, ...] = (),
) -> dict[str, np.ndarray]:
    """Write folder/SMPLX_NEUTRAL.npz with every key smplx.SMPLX reads; return the arrays.

    Each joint has `vertices_per_joint` vertices around it, skinned to it and averaged by the
    joint regressor, so the regressed rest joints are known. Shape direction 0 is the template's
    y coordinate (beta 0 scales the body's height by 1 + beta); the rest are random.
    """
    rng = np.random.default_rng(seed)
    k = vertices_per_joint
    joints = rng.normal(scale=0.3, size=(NUM_JOINTS, 3))
    offsets = rng.normal(scale=0.02, size=(NUM_JOINTS, k, 3))
    v_template = (joints[:, None] + offsets - offsets.mean(1, keepdims=True)).reshape(-1, 3)
    shapedirs = rng.normal(scale=0.01, size=(len(v_template), 3, shape_components))
    shapedirs[:, :, 0] = v_template * [0.0, 1.0, 0.0]
    arrays = {
        "v_template": v_template,
        "f": np.arange(len(v_template) - len(v_template) % 3).reshape(-1, 3),
        "shapedirs": shapedirs,
        "posedirs": 0.01 * rng.standard_normal((len(v_template), 3, NUM_POSE_BASIS), np.float32),
        "J_regressor": np.kron(np.eye(NUM_JOINTS), np.full((1, k), 1 / k)),
        "kintree_table": np.stack([smplx_parents(), np.arange(NUM_JOINTS)]),
        "weights": np.kron(np.eye(NUM_JOINTS), np.ones((k, 1))),
        "hands_componentsl": np.eye(45),
        "hands_componentsr": np.eye(45),
        "hands_meanl": rng.normal(scale=0.2, size=45),
        "hands_meanr": rng.normal(scale=0.2, size=45),
        "lmk_faces_idx": rng.integers(0, NUM_JOINTS, size=51),
        "lmk_bary_coords": np.full((51, 3), 1 / 3),
        "dynamic_lmk_faces_idx": rng.integers(0, NUM_JOINTS, size=(79, 17)),
        "dynamic_lmk_bary_coords": np.full((79, 17, 3), 1 / 3),
    }
    arrays = {key: value for key, value in arrays.items() if key not in drop}
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "SMPLX_NEUTRAL.npz", **arrays)
    return arrays


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """A tiny model folder and its arrays."""
    folder = tmp_path_factory.mktemp("smplx")
    return folder, write_smplx_model(folder)


@pytest.fixture(scope="module")
def body(model) -> SMPLXJoints:
    return SMPLXJoints(str(model[0]))


def rest_joints(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The model's body joints at rest: J_regressor @ v_template, first 22."""
    return (arrays["J_regressor"] @ arrays["v_template"])[:BODY]


def params(frames: int = 1, **fields: np.ndarray) -> torch.Tensor:
    """(1, frames, 79) parameters, zero except the given SMPLX_PARAMS fields (per frame)."""
    sizes = smplx_param_sizes(10)
    parts = [np.broadcast_to(fields.get(name, 0.0), (frames, size)) for name, size in sizes.items()]
    return torch.tensor(np.concatenate(parts, axis=-1)[None], dtype=torch.float32)


def body_pose(joint: str, rotvec: np.ndarray) -> np.ndarray:
    """A body_pose vector bending one joint (body_pose holds joints 1..21)."""
    pose = np.zeros(63)
    i = SMPLX_BODY22.index(joint) - 1
    pose[3 * i : 3 * i + 3] = rotvec
    return pose


def descendants(joint: int) -> list[int]:
    """The joint and every joint below it in the SMPL-X body tree."""
    below = [joint]
    for child, parent in enumerate(SMPLX_BODY22.parents):
        if parent in below:
            below.append(child)
    return below


def test_zero_parameters_give_the_rest_joints(model, body) -> None:
    out = body(torch.zeros(2, 3, 79))
    assert out.shape == (2, 3, BODY, 3)
    expected = torch.tensor(rest_joints(model[1]), dtype=torch.float32).expand(2, 3, -1, -1)
    assert torch.allclose(out, expected, atol=1e-6)
    assert list(body.parameters()) == []
    assert body.state_dict() == {}
    double = SMPLXJoints(str(model[0])).double()  # buffers follow .to / .double
    assert double(torch.zeros(1, 1, 79, dtype=torch.float64)).dtype == torch.float64


def test_transl_shifts_every_joint(body) -> None:
    rng = np.random.default_rng(1)
    pose = {"global_orient": rng.normal(size=3), "body_pose": rng.normal(scale=0.3, size=63)}
    shift = np.array([0.4, -1.2, 2.5])
    moved = body(params(transl=shift, **pose))
    still = body(params(**pose))
    assert torch.allclose(moved - still, torch.tensor(shift, dtype=torch.float32), atol=1e-6)


def test_global_orient_rotates_about_the_pelvis(model, body) -> None:
    rotvec = np.array([0.3, -1.1, 0.7])
    rest = rest_joints(model[1])
    pelvis = rest[0]
    expected = pelvis + Rotation.from_rotvec(rotvec).apply(rest - pelvis)
    out = body(params(global_orient=rotvec))[0, 0].double().numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("joint", ["left_knee", "right_shoulder", "spine1"])
def test_bending_a_joint_rotates_only_its_descendants(model, body, joint: str) -> None:
    rotvec = np.array([1.2, 0.4, -0.5])
    rest = rest_joints(model[1])
    centre = SMPLX_BODY22.index(joint)
    below = descendants(centre)
    expected = rest.copy()
    expected[below] = rest[centre] + Rotation.from_rotvec(rotvec).apply(rest[below] - rest[centre])
    out = body(params(body_pose=body_pose(joint, rotvec)))[0, 0].double().numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert len(below) < BODY and not np.allclose(out[below[1:]], rest[below[1:]])


def test_beta_scales_height_through_shapedirs(model, body) -> None:
    betas = np.zeros(10)
    betas[0] = 0.25
    out = body(params(betas=betas))[0, 0].double().numpy()
    np.testing.assert_allclose(out, rest_joints(model[1]) * [1.0, 1.25, 1.0], atol=1e-5)


def test_matches_smplx_forward_on_a_full_size_mesh(tmp_path) -> None:
    """Against smplx.SMPLX's own forward (skinning, landmarks, hands, jaw and eyes included):
    its mesh needs SMPL-X's vertex count, for the extra joints it picks by vertex id."""
    write_smplx_model(tmp_path, seed=4, vertices_per_joint=181, shape_components=20)
    frames = 5
    rng = np.random.default_rng(5)
    fields = {
        "transl": rng.normal(size=(frames, 3)),
        "global_orient": rng.normal(size=(frames, 3)),
        "body_pose": rng.normal(scale=0.5, size=(frames, 63)),
        "betas": rng.normal(size=(frames, 10)),
    }
    reference = smplx.SMPLX(str(tmp_path), batch_size=frames, use_pca=False, flat_hand_mean=False)
    face_and_hands = {
        name: torch.tensor(rng.normal(scale=0.5, size=(frames, size)), dtype=torch.float32)
        for name, size in [("jaw_pose", 3), ("leye_pose", 3), ("reye_pose", 3)]
        + [("left_hand_pose", 45), ("right_hand_pose", 45)]
    }
    with torch.no_grad():
        expected = reference(
            **{name: torch.tensor(value, dtype=torch.float32) for name, value in fields.items()},
            **face_and_hands,
        ).joints[:, :BODY]
    out = SMPLXJoints(str(tmp_path))(params(frames, **fields))[0]
    assert torch.allclose(out, expected, atol=1e-5)


def _encoder_batch(lengths: list[int], frames: int = 8) -> tuple[torch.Tensor, ...]:
    """(B, frames, 79) random SMPL-X parameters, the first lengths[b] frames real."""
    torch.manual_seed(2)
    x = torch.randn(len(lengths), frames, 79) * 0.3
    mask = torch.arange(frames) < torch.tensor(lengths)[:, None]
    times = torch.arange(frames).float().expand(len(lengths), frames) / 30
    return x, mask, times


def test_pose_encoder_runs_the_body_model_first(model, body) -> None:
    x, mask, times = _encoder_batch([8, 5])
    torch.manual_seed(0)
    encoder = PoseEncoder(smplx_model=str(model[0]), dim=16, layers=2)
    torch.manual_seed(0)
    on_joints = PoseEncoder(layout="smplx22", dim=16, layers=2)
    out = encoder(x, mask, times)
    assert out.values.shape == (2, 4, 16)
    assert encoder.layout == SMPLX_BODY22
    assert encoder.state_dict().keys() == on_joints.state_dict().keys()
    expected = on_joints(body(x), mask, times)
    assert torch.equal(out.mask, expected.mask)
    assert torch.allclose(out.values, expected.values, atol=1e-5)


def test_pose_encoder_masks_and_gradients(
    model, assert_mask_invariant, assert_grads_everywhere
) -> None:
    x, mask, times = _encoder_batch([8, 5, 0])
    encoder = PoseEncoder(smplx_model=str(model[0]), dim=16, layers=2)
    assert_mask_invariant(encoder, x, mask, times)
    assert not any(name.startswith("body_model") for name, _ in encoder.named_parameters())
    assert_grads_everywhere(encoder, encoder(x, mask, times))
    # Masked frames are zeroed before the body model: NaN there reaches no gradient either.
    x = torch.where(mask[..., None], x, torch.nan).requires_grad_()
    encoder(x, mask, times).values.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.all(x.grad[~mask] == 0)


def test_missing_models_are_named(tmp_path, model) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.npz does not exist.*SMPLX_NEUTRAL"):
        SMPLXJoints(str(tmp_path / "nowhere.npz"))
    with pytest.raises(FileNotFoundError, match=rf"{tmp_path} holds no SMPLX_NEUTRAL\.npz"):
        SMPLXJoints(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="holds no SMPLX_MALE.npz"):
        SMPLXJoints(str(model[0]), gender="male")
    write_smplx_model(tmp_path / "smplx", drop=("lmk_faces_idx",))
    with pytest.raises(ValueError, match=r"SMPLX_NEUTRAL\.npz: not an SMPL-X model.*lmk_faces_idx"):
        SMPLXJoints(str(tmp_path))  # found in smplx/, as smplx.create lays models out


def test_models_that_do_not_fit_are_refused(tmp_path, model) -> None:
    arrays = write_smplx_model(tmp_path / "few", shape_components=20)
    with pytest.raises(ValueError, match="has 10 shape components, num_betas=16 asked"):
        SMPLXJoints(str(tmp_path / "few"), num_betas=16)
    arrays["kintree_table"][0, SMPLX_BODY22.index("left_knee")] = 2
    np.savez(tmp_path / "tree.npz", **arrays)
    with pytest.raises(ValueError, match=r"tree\.npz: kinematic tree .* SMPL-X body tree"):
        SMPLXJoints(str(tmp_path / "tree.npz"))
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(ValueError, match=r"model\.json: expected a \.npz or \.pkl file"):
        SMPLXJoints(str(tmp_path / "model.json"))


def test_bad_parameters_and_options_are_refused(model, body) -> None:
    with pytest.raises(ValueError, match=r"expected \(B, L, 79\) parameters laid out as transl"):
        body(torch.zeros(1, 4, 72))
    with pytest.raises(ValueError, match=r"betas \(10\), got \(4, 79\)"):
        body(torch.zeros(4, 79))
    assert SMPLXJoints(str(model[0]), num_betas=16).num_params == 85
    with pytest.raises(ValueError, match="smplx_body22 joints, but layout is 'flex21'"):
        PoseEncoder(layout="flex21", smplx_model=str(model[0]))
    with pytest.raises(ValueError, match="gender 'other'"):
        SMPLXJoints(str(model[0]), gender="other")
