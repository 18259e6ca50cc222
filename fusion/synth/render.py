"""A small, fast software renderer that films the simulated subject from every camera.

Painter's algorithm: per frame the body (capsule limbs, torso polygon, head disc, shoes) and the
equipment become flat-coloured primitives sorted far to near and drawn with PIL, so nearer parts
hide farther ones. The room (floor with a tile grid, walls, ceiling) is ray-cast once per view,
and fixed props (a squat-rack side frame, a plyo box) are baked behind or laid over the subject
depending on which side of it they stand for that camera, so some views lose some joints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from fusion.data.skeletons import FLEX21
from fusion.synth.cameras import Camera

Color = tuple[int, int, int]

UP = np.array([0.0, 1.0, 0.0])
X_AXIS = np.array([1.0, 0.0, 0.0])
Z_AXIS = np.array([0.0, 0.0, 1.0])
J = {name: i for i, name in enumerate(FLEX21.joints)}

RIGHT_SHADE = 0.70  # right-side parts are darker ...
LEFT_LIFT = 0.18  # ... and left-side parts paler, as lighting and clothes make real sides differ
HAIR: Color = (45, 33, 26)
BAR: Color = (178, 178, 188)
PLATE: Color = (22, 22, 26)
EQUIPMENT_KINDS = ("barbell", "dumbbells", "dumbbell_single", "none")

SKIN_TONES: tuple[Color, ...] = (
    (255, 224, 196), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (92, 56, 30),
)  # fmt: skip
SHIRTS: tuple[Color, ...] = (
    (200, 40, 40), (40, 80, 200), (40, 160, 70), (220, 200, 40), (120, 50, 160),
    (230, 120, 30), (30, 150, 150), (232, 232, 232), (38, 38, 42), (120, 120, 128),
)  # fmt: skip
SHORTS: tuple[Color, ...] = (
    (30, 30, 36), (40, 50, 95), (85, 85, 90), (25, 65, 45), (115, 30, 30), (160, 150, 120),
)  # fmt: skip
SHOES: tuple[Color, ...] = (
    (240, 240, 240), (28, 28, 28), (200, 50, 50), (50, 90, 200), (150, 150, 150),
)  # fmt: skip

ROOM_HALF = 4.5  # metres; walls at x, z = +-ROOM_HALF
ROOM_HEIGHT = 3.2
FLOOR: Color = (72, 74, 82)
FLOOR_LINE: Color = (150, 150, 140)
TILE = 1.0
LINE_HALF_WIDTH = 0.02
WALLS: dict[str, Color] = {  # each camera faces different walls, so backgrounds differ per view
    "+x": (176, 168, 150), "-x": (140, 160, 178), "+z": (190, 186, 178), "-z": (150, 172, 150),
}  # fmt: skip
WALL_STRIPE: Color = (120, 60, 50)
CEILING: Color = (214, 214, 210)
SUPERSAMPLE = 2  # static layers are drawn larger and averaged down, so grid lines stay smooth
LIGHT = np.array([0.3, 1.0, 0.5]) / np.linalg.norm([0.3, 1.0, 0.5])

# Fixed props: (centre, half extents, colour). The rack side frame stands behind-left of the
# subject (between it and view2); the plyo box stands front-left, hiding the shins from view1.
PROPS: tuple[tuple[tuple[float, float, float], tuple[float, float, float], Color], ...] = (
    ((0.9, 1.15, -0.7), (0.04, 1.15, 0.04), (60, 60, 66)),
    ((0.9, 1.15, -1.1), (0.04, 1.15, 0.04), (60, 60, 66)),
    ((0.9, 2.26, -0.9), (0.04, 0.04, 0.24), (60, 60, 66)),
    ((0.9, 0.9, -0.9), (0.03, 0.03, 0.24), (150, 40, 40)),
    ((0.62, 0.38, 0.62), (0.2, 0.38, 0.2), (112, 78, 50)),
)

NOISE_STD = 2.0  # grey levels of per-frame sensor noise
NOISE_BANK = 8  # noise frames cycled through, so noise costs nothing per frame

CAPSULE, DISC, POLY = 0, 1, 2


@dataclass(frozen=True)
class Appearance:
    """Per-subject look (skin, clothes, shoes, build), so that subjects differ on video."""

    skin: Color
    shirt: Color
    shorts: Color
    shoes: Color
    limb_radius: float = 0.055

    @staticmethod
    def sample(rng: np.random.Generator) -> Appearance:
        """A random but plausible look whose clothes stand out from the skin."""
        i = int(rng.integers(len(SKIN_TONES) - 1))
        skin = _mix(SKIN_TONES[i], SKIN_TONES[i + 1], float(rng.uniform()))
        shirt = shorts = skin
        for _ in range(50):
            shirt = _jitter(SHIRTS[int(rng.integers(len(SHIRTS)))], rng)
            shorts = _jitter(SHORTS[int(rng.integers(len(SHORTS)))], rng)
            if _dist(shirt, skin) > 90 and _dist(shorts, skin) > 70 and _dist(shirt, shorts) > 50:
                break
        shoes = _jitter(SHOES[int(rng.integers(len(SHOES)))], rng)
        return Appearance(skin, shirt, shorts, shoes, float(rng.uniform(0.047, 0.063)))


@dataclass(frozen=True)
class Equipment:
    """What the subject holds: a barbell, a dumbbell per hand, one dumbbell in both, or nothing."""

    kind: str = "none"

    def __post_init__(self) -> None:
        if self.kind not in EQUIPMENT_KINDS:
            raise ValueError(f"equipment kind {self.kind!r} not in {EQUIPMENT_KINDS}")


def _mix(a: Color, b: Color, w: float) -> Color:
    """Linear blend of two colours."""
    return tuple(int(round((1 - w) * x + w * y)) for x, y in zip(a, b, strict=True))


def _jitter(c: Color, rng: np.random.Generator, amount: int = 14) -> Color:
    """A colour nudged a little, so two subjects in the 'same' shirt still differ."""
    return tuple(int(np.clip(x + rng.integers(-amount, amount + 1), 0, 255)) for x in c)


def _dist(a: Color, b: Color) -> float:
    """Euclidean RGB distance."""
    return float(np.linalg.norm(np.subtract(a, b, dtype=float)))


def _right(c: Color) -> Color:
    """The shade of a right-side part."""
    return tuple(int(round(x * RIGHT_SHADE)) for x in c)


def _left(c: Color) -> Color:
    """The shade of a left-side part."""
    return tuple(int(round(x * (1 - LEFT_LIFT) + 255 * LEFT_LIFT)) for x in c)


def part_colors(appearance: Appearance) -> dict[str, Color]:
    """Flat colour of every body and equipment part (before the camera's white balance)."""
    a = appearance
    colors: dict[str, Color] = {"skin": a.skin, "shirt": a.shirt, "shorts": a.shorts}
    colors.update({"hair": HAIR, "bar": BAR, "plate": PLATE})
    bases = (("skin", a.skin), ("shirt", a.shirt), ("shorts", a.shorts), ("shoes", a.shoes))
    for part, base in bases:
        colors[f"r_{part}"] = _right(base)
        colors[f"l_{part}"] = _left(base)
    return colors


# ---------------------------------------------------------------------------------------------
# Geometry: world points for the whole clip and the primitives that reference them.


@dataclass(frozen=True)
class _Prim:
    """One drawable: kind, point indices, world radius, colour key and a depth bias (metres)."""

    kind: int
    idx: tuple[int, ...]
    radius: float
    color: str
    bias: float = 0.0


@dataclass
class _Geometry:
    """Accumulates (T, k, 3) point chunks and the primitives drawn from them."""

    chunks: list[np.ndarray] = field(default_factory=list)
    prims: list[_Prim] = field(default_factory=list)
    count: int = 0

    def add(self, points: np.ndarray) -> list[int]:
        """Append (T, k, 3) points; returns their indices."""
        self.chunks.append(points)
        self.count += points.shape[1]
        return list(range(self.count - points.shape[1], self.count))

    def capsule(self, i: int, j: int, radius: float, color: str, bias: float = 0.0) -> None:
        """A limb: thick line from point i to point j."""
        self.prims.append(_Prim(CAPSULE, (i, j), radius, color, bias))

    def disc(self, i: int, radius: float, color: str, bias: float = 0.0) -> None:
        """A sphere seen as a disc."""
        self.prims.append(_Prim(DISC, (i,), radius, color, bias))

    def poly(self, idx: Sequence[int], color: str, bias: float = 0.0) -> None:
        """A flat filled polygon through the given points."""
        self.prims.append(_Prim(POLY, tuple(idx), 0.0, color, bias))

    def points(self) -> np.ndarray:
        """All points, (T, N, 3)."""
        return np.concatenate(self.chunks, axis=1)


def _unit(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Row-wise unit vectors, replacing near-zero rows by fallback."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > 1e-9, v / np.maximum(n, 1e-9), fallback)


def _ring(centre: np.ndarray, axis: np.ndarray, radius: float, n: int) -> np.ndarray:
    """(T, n, 3) points on a circle around axis (T, 3): a weight plate's rim."""
    u = _unit(np.cross(axis, UP), _unit(np.cross(axis, Z_AXIS), X_AXIS))
    v = np.cross(axis, u)
    th = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    ring = np.cos(th)[None, :, None] * u[:, None] + np.sin(th)[None, :, None] * v[:, None]
    return centre[:, None] + radius * ring


def _add_body(g: _Geometry, joints: np.ndarray, r: float) -> None:
    """Head, neck, torso, pelvis and limbs of the FLEX-21 skeleton."""
    g.add(joints)  # indices 0..20 are the joints themselves
    lr = joints[:, J["l_shoulder"]] - joints[:, J["r_shoulder"]]
    lr = _unit(lr + joints[:, J["l_hip"]] - joints[:, J["r_hip"]], X_AXIS)
    fwd = _unit(np.cross(lr, UP), Z_AXIS)
    head_r, torso_r = 1.9 * r, 2.1 * r
    hip_mid = 0.5 * (joints[:, J["l_hip"]] + joints[:, J["r_hip"]])
    spine = joints[:, J["spine_shoulder"]]
    down = _unit(hip_mid - spine, -UP)
    extra = np.stack(
        [
            joints[:, J["head"]] - 0.3 * head_r * fwd + 0.2 * head_r * UP,
            spine + torso_r * down,
            hip_mid - 0.5 * torso_r * down,
        ],
        axis=1,
    )
    hair, chest, belly = g.add(extra)
    g.disc(hair, 0.95 * head_r, "hair")
    g.disc(J["head"], head_r, "skin", bias=-0.01)
    g.capsule(J["spine_shoulder"], J["neck"], 0.75 * r, "skin", bias=0.03)
    shoulders_hips = [J["r_shoulder"], J["l_shoulder"], J["l_hip"], J["r_hip"]]
    g.poly(shoulders_hips, "shirt")
    g.capsule(chest, belly, torso_r, "shirt")
    g.capsule(J["r_hip"], J["l_hip"], 1.6 * r, "shorts", bias=-0.01)
    for s in ("r", "l"):
        g.capsule(J[f"{s}_shoulder"], J[f"{s}_elbow"], 1.05 * r, f"{s}_shirt")
        g.capsule(J[f"{s}_elbow"], J[f"{s}_wrist"], 0.9 * r, f"{s}_skin")
        g.capsule(J[f"{s}_wrist"], J[f"{s}_hand"], 0.8 * r, f"{s}_skin")
        g.capsule(J[f"{s}_hip"], J[f"{s}_knee"], 1.35 * r, f"{s}_shorts")
        g.capsule(J[f"{s}_knee"], J[f"{s}_ankle"], 1.0 * r, f"{s}_skin")
        g.capsule(J[f"{s}_heel"], J[f"{s}_toe"], 0.75 * r, f"{s}_shoes")


def _add_dumbbell(
    g: _Geometry, centre: np.ndarray, axis: np.ndarray, half: float, plate_r: float
) -> None:
    """A handle along axis through centre with a plate near each end."""
    ends = np.stack([centre - half * axis, centre + half * axis], axis=1)
    a, b = g.add(ends)
    g.capsule(a, b, 0.02, "bar")
    for sign in (-1.0, 1.0):
        rim = g.add(_ring(centre + sign * 0.8 * half * axis, axis, plate_r, 10))
        g.poly(rim, "plate")


def _add_equipment(g: _Geometry, joints: np.ndarray, kind: str) -> None:
    """Barbell, dumbbells or nothing, placed from the hands."""
    rh, lh = joints[:, J["r_hand"]], joints[:, J["l_hand"]]
    across = _unit(lh - rh, X_AXIS)
    if kind == "barbell":
        ends = np.stack([rh - 0.5 * across, lh + 0.5 * across], axis=1)
        r_end, l_end = g.add(ends)
        for a, b in ((r_end, J["r_hand"]), (J["r_hand"], J["l_hand"]), (J["l_hand"], l_end)):
            g.capsule(a, b, 0.02, "bar")
        for end, sign in ((ends[:, 0], 1.0), (ends[:, 1], -1.0)):
            g.poly(g.add(_ring(end + sign * 0.12 * across, across, 0.225, 12)), "plate")
    elif kind == "dumbbells":
        body_lr = _unit(joints[:, J["l_shoulder"]] - joints[:, J["r_shoulder"]], X_AXIS)
        for s in ("r", "l"):
            grip = _unit(joints[:, J[f"{s}_hand"]] - joints[:, J[f"{s}_wrist"]], -UP)
            axis = _unit(body_lr - (body_lr * grip).sum(-1, keepdims=True) * grip, body_lr)
            _add_dumbbell(g, joints[:, J[f"{s}_hand"]], axis, 0.15, 0.09)
    elif kind == "dumbbell_single":
        axis = _unit(UP - (UP * across).sum(-1, keepdims=True) * across, UP)
        _add_dumbbell(g, 0.5 * (rh + lh), axis, 0.17, 0.11)


def _build(joints: np.ndarray, appearance: Appearance, equipment: Equipment) -> _Geometry:
    """All points and primitives for a clip."""
    g = _Geometry()
    _add_body(g, joints, appearance.limb_radius)
    _add_equipment(g, joints, equipment.kind)
    return g


# ---------------------------------------------------------------------------------------------
# Static layers: the room and the props, per camera.


def _scaled(cam: Camera, s: int) -> Camera:
    """The same camera with s times the pixels (for supersampling)."""
    return Camera(cam.name, cam.position, cam.look_at, cam.fov_deg, cam.width * s, cam.height * s)


def _room(cam: Camera) -> np.ndarray:
    """Ray-cast floor (tiles + grid lines), walls (baseboard, stripe, panel seams), ceiling."""
    k, rot = cam.intrinsics().astype(np.float32), cam.rotation().astype(np.float32)
    u = (np.arange(cam.width, dtype=np.float32) - k[0, 2]) / k[0, 0]
    v = (np.arange(cam.height, dtype=np.float32) - k[1, 2]) / k[1, 1]
    d = u[None, :, None] * rot[0] + v[:, None, None] * rot[1] + rot[2]  # (H, W, 3) world rays
    o = np.asarray(cam.position, np.float32)
    dx, dy, dz = np.abs(d[..., 0]), np.abs(d[..., 1]), np.abs(d[..., 2])
    with np.errstate(divide="ignore"):  # rays parallel to a plane never reach it: t = inf
        tx = (ROOM_HALF - o[0] * np.sign(d[..., 0])) / dx
        tz = (ROOM_HALF - o[2] * np.sign(d[..., 2])) / dz
        ty = np.where(d[..., 1] < 0, o[1], ROOM_HEIGHT - o[1]) / dy
    t = np.minimum(np.minimum(tx, ty), tz)
    hit = o + t[..., None] * d
    img = np.empty(d.shape, np.float32)
    _shade_walls(img, hit, tx == t, tz == t, d)
    _shade_floor(img, hit, (ty == t) & (d[..., 1] < 0))
    return img


def _shade_walls(
    img: np.ndarray, hit: np.ndarray, x_wall: np.ndarray, z_wall: np.ndarray, d: np.ndarray
) -> None:
    """Colour wall and ceiling pixels in place."""
    img[...] = CEILING
    for axis, mask in ((0, x_wall), (2, z_wall)):
        positive = d[..., axis] > 0
        img[mask & positive] = WALLS["+" + "xyz"[axis]]
        img[mask & ~positive] = WALLS["-" + "xyz"[axis]]
        along = hit[..., 2 - axis] / 1.5  # panel seams every 1.5 m along the wall
        img[mask & (np.abs(along - np.round(along)) < 0.02 / 1.5)] *= 0.85
    y = hit[..., 1]
    walls = x_wall | z_wall
    img[walls & (y < 0.12)] *= 0.55
    img[walls & (y > 1.0) & (y < 1.15)] = WALL_STRIPE


def _shade_floor(img: np.ndarray, hit: np.ndarray, floor: np.ndarray) -> None:
    """Colour floor pixels in place: tiles in two shades plus light grid lines."""
    x, z = hit[floor, 0] / TILE, hit[floor, 2] / TILE
    checker = (np.floor(x) + np.floor(z)) % 2 == 1
    half = LINE_HALF_WIDTH / TILE
    line = (np.abs(x - np.round(x)) < half) | (np.abs(z - np.round(z)) < half)
    colors = np.where(checker[:, None], np.float32(0.9) * np.array(FLOOR), np.array(FLOOR))
    colors[line] = FLOOR_LINE
    img[floor] = colors


# Box faces as (axis, sign, corner indices) into the corners of _box_corners, in cyclic order.
BOX_FACES = (
    (0, -1, (0, 2, 6, 4)), (0, 1, (1, 3, 7, 5)), (1, -1, (0, 1, 5, 4)),
    (1, 1, (2, 3, 7, 6)), (2, -1, (0, 1, 3, 2)), (2, 1, (4, 5, 7, 6)),
)  # fmt: skip
CORNER_SIGNS = np.array([[sx, sy, sz] for sz in (-1, 1) for sy in (-1, 1) for sx in (-1, 1)])


def _box_faces(cam: Camera, centre: np.ndarray, half: np.ndarray, color: Color) -> list:
    """Visible faces of an axis-aligned box as (pixel polygon, shaded colour) pairs."""
    uv, _ = cam.project(centre + CORNER_SIGNS * half)
    corners = [tuple(q) for q in uv.tolist()]
    eye = np.asarray(cam.position) - centre
    faces = []
    for axis, sign, idx in BOX_FACES:
        if sign * eye[axis] <= half[axis]:  # the camera is behind this face's plane
            continue
        shade = 0.6 + 0.4 * max(0.0, sign * float(LIGHT[axis]))
        faces.append(([corners[i] for i in idx], tuple(int(c * shade) for c in color)))
    return faces


def _draw_props(
    draw: ImageDraw.ImageDraw,
    cam: Camera,
    props: Sequence[int],
    mask: ImageDraw.ImageDraw | None = None,
) -> None:
    """Draw the chosen props far to near (and their coverage onto mask, if given)."""
    _, depths = cam.project(np.array([PROPS[i][0] for i in props]).reshape(-1, 3))
    for _, i in sorted(zip(depths.tolist(), props, strict=True), reverse=True):
        centre, half, color = PROPS[i]
        for poly, shade in _box_faces(cam, np.array(centre), np.array(half), color):
            draw.polygon(poly, fill=shade)
            if mask is not None:
                mask.polygon(poly, fill=255)


@dataclass(frozen=True)
class _Overlay:
    """Props in front of the subject: pixel box, coverage-weighted colour, what shows through."""

    rows: slice
    cols: slice
    color: np.ndarray  # (h, w, 3) colour times coverage
    keep: np.ndarray  # (h, w, 1) 1 - coverage


@lru_cache(maxsize=64)
def _static_layers(cam: Camera, front: tuple[bool, ...]) -> tuple[np.ndarray, _Overlay | None]:
    """Background RGB (room + props behind the subject) and the overlay of props in front."""
    big = _scaled(cam, SUPERSAMPLE)
    back = Image.fromarray(np.clip(_room(big), 0, 255).astype(np.uint8))
    _draw_props(ImageDraw.Draw(back), big, [i for i, f in enumerate(front) if not f])
    bg = np.asarray(back.reduce(SUPERSAMPLE), np.float32)
    if not any(front):
        return bg, None
    over, cover = Image.new("RGB", back.size), Image.new("L", back.size)
    _draw_props(
        ImageDraw.Draw(over), big, [i for i, f in enumerate(front) if f], ImageDraw.Draw(cover)
    )
    # Box-averaging over a black background weights each colour by its coverage already.
    fg = np.asarray(over.reduce(SUPERSAMPLE), np.float32)
    alpha = np.asarray(cover.reduce(SUPERSAMPLE), np.float32)[..., None] / 255.0
    rows, cols = np.flatnonzero(alpha.any(axis=(1, 2))), np.flatnonzero(alpha.any(axis=(0, 2)))
    if len(rows) == 0:
        return bg, None
    r, c = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    return bg, _Overlay(r, c, fg[r, c], 1.0 - alpha[r, c])


def _props_in_front(cam: Camera, joints: np.ndarray) -> tuple[bool, ...]:
    """Which props stand between this camera and the subject (by centre depth)."""
    hips = 0.5 * (joints[:, J["l_hip"]] + joints[:, J["r_hip"]]).mean(axis=0)
    _, ref = cam.project(np.array([hips[0], 1.0, hips[2]]))
    _, depths = cam.project(np.array([p[0] for p in PROPS]))
    return tuple(bool(d < ref) for d in depths)


@lru_cache(maxsize=8)
def _noise_bank(height: int, width: int) -> np.ndarray:
    """A fixed bank of sensor-noise frames (float), cycled per frame."""
    rng = np.random.default_rng(20240601)
    noise = np.round(rng.normal(0.0, NOISE_STD, (NOISE_BANK, height, width, 3)))
    return noise.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Per-frame drawing.


@dataclass(frozen=True)
class _Compiled:
    """The clip's primitives grouped by kind, as index arrays, for vectorised projection."""

    table: list[tuple[int, int, str]]  # per primitive: kind, index within its kind, colour key
    weights: np.ndarray  # (N, P): depth key of primitive p = depth @ weights[:, p] + bias[p]
    bias: np.ndarray
    cap_idx: np.ndarray  # (C, 2)
    cap_r: np.ndarray  # (C,)
    disc_idx: np.ndarray  # (D,)
    disc_r: np.ndarray  # (D,)
    polys: list[list[int]]


def _compile(g: _Geometry) -> _Compiled:
    """Group the primitives of a clip by kind."""
    weights = np.zeros((g.count, len(g.prims)))
    table, caps, discs, polys = [], [], [], []
    for p, prim in enumerate(g.prims):
        weights[list(prim.idx), p] = 1.0 / len(prim.idx)
        group = (caps, discs, polys)[prim.kind]
        table.append((prim.kind, len(group), prim.color))
        group.append(prim)
    return _Compiled(
        table=table,
        weights=weights,
        bias=np.array([prim.bias for prim in g.prims]),
        cap_idx=np.array([c.idx for c in caps], dtype=int).reshape(-1, 2),
        cap_r=np.array([c.radius for c in caps]),
        disc_idx=np.array([d.idx[0] for d in discs], dtype=int),
        disc_r=np.array([d.radius for d in discs]),
        polys=[list(q.idx) for q in polys],
    )


@dataclass(frozen=True)
class _ViewArgs:
    """Per-frame draw arguments for one camera, as plain lists (fast to index in Python)."""

    orders: list[list[int]]  # per frame, primitive indices far to near
    caps: list  # [t][c] -> (u0, v0, u1, v1, r0, r1)
    widths: list  # [t][c] -> line width in pixels
    discs: list  # [t][d] -> bounding box
    polys: list  # [k][t] -> flat pixel coordinates


def _view_args(c: _Compiled, pts: np.ndarray, cam: Camera) -> _ViewArgs:
    """Project the clip once and turn it into far-to-near draw lists."""
    uv, depth = cam.project(pts)
    depth = np.maximum(depth, 1e-3)
    f = cam.focal()
    keys = depth @ c.weights + c.bias
    n = len(pts)
    cap_rad = f * c.cap_r[None, :, None] / depth[:, c.cap_idx]  # (T, C, 2) end radii
    caps = np.concatenate([uv[:, c.cap_idx].reshape(n, -1, 4), cap_rad], axis=-1)
    widths = np.maximum(1, np.round(cap_rad.sum(-1))).astype(int)
    disc_rad = np.maximum(f * c.disc_r[None, :] / depth[:, c.disc_idx], 0.5)[..., None]
    centres = uv[:, c.disc_idx]
    discs = np.concatenate([centres - disc_rad, centres + disc_rad], axis=-1)
    return _ViewArgs(
        orders=np.argsort(-keys, axis=1, kind="stable").tolist(),
        caps=caps.tolist(),
        widths=widths.tolist(),
        discs=discs.tolist(),
        polys=[uv[:, idx].reshape(n, -1).tolist() for idx in c.polys],
    )


def _draw_frame(img: Image.Image, t: int, a: _ViewArgs, table: list, colors: list) -> None:
    """Draw frame t's primitives far to near, so nearer parts hide farther ones."""
    draw = ImageDraw.Draw(img)
    caps, widths, discs = a.caps[t], a.widths[t], a.discs[t]
    for p in a.orders[t]:
        kind, k, _ = table[p]
        color = colors[p]
        if kind == CAPSULE:
            u0, v0, u1, v1, r0, r1 = caps[k]
            w = widths[k]
            draw.line((u0, v0, u1, v1), fill=color, width=w)
            if w >= 3:  # round ends, so joints close up at larger sizes
                draw.ellipse((u0 - r0, v0 - r0, u0 + r0, v0 + r0), fill=color)
                draw.ellipse((u1 - r1, v1 - r1, u1 + r1, v1 + r1), fill=color)
        elif kind == DISC:
            draw.ellipse(discs[k], fill=color)
        else:
            poly = a.polys[k][t]
            draw.polygon(poly, fill=color, outline=color)


def _view_rng(scene_seed: int, view: int) -> np.random.Generator:
    """Deterministic per-view randomness (white balance, noise phase)."""
    return np.random.default_rng(np.random.SeedSequence([int(scene_seed), view]))


def _backgrounds(bg: np.ndarray, gain: np.ndarray) -> list[Image.Image]:
    """The view's background under its white balance, one copy per noise-bank frame."""
    bank = _noise_bank(bg.shape[0], bg.shape[1])
    lit = (bg * gain).astype(np.float32)
    noisy = np.clip(lit[None] + bank, 0, 255).astype(np.uint8)
    return [Image.fromarray(frame) for frame in noisy]


def _render_view(
    out: np.ndarray, c: _Compiled, pts: np.ndarray, joints: np.ndarray, cam: Camera,
    palette: dict[str, Color], view: int, scene_seed: int,
) -> None:  # fmt: skip
    """Fill out (T, H, W, 3) with every frame of one view."""
    rng = _view_rng(scene_seed, view)
    gain = 1.0 + rng.uniform(-0.06, 0.06, 3)
    phase = int(rng.integers(NOISE_BANK))
    bg, overlay = _static_layers(cam, _props_in_front(cam, joints))
    backgrounds = _backgrounds(bg, gain)
    balanced = {
        k: tuple(int(min(255, x * y)) for x, y in zip(col, gain, strict=True))
        for k, col in palette.items()
    }
    colors = [balanced[key] for _, _, key in c.table]
    args = _view_args(c, pts, cam)
    for t in range(len(pts)):
        img = backgrounds[(phase + t) % NOISE_BANK].copy()
        _draw_frame(img, t, args, c.table, colors)
        out[t] = np.asarray(img)
    if overlay is not None:
        region = out[:, overlay.rows, overlay.cols]
        blended = region * overlay.keep + overlay.color * gain.astype(np.float32) + 0.5
        out[:, overlay.rows, overlay.cols] = np.clip(blended, 0, 255).astype(np.uint8)


def render_views(
    joints: np.ndarray,
    cameras: Sequence[Camera],
    appearance: Appearance,
    equipment: Equipment,
    *,
    scene_seed: int = 0,
) -> np.ndarray:
    """Render joints (T, 21, 3) from every camera: uint8 (V, T, H, W, 3), deterministic."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (len(FLEX21.joints), 3):
        raise ValueError(f"joints must be (T, {len(FLEX21.joints)}, 3), got {joints.shape}")
    if not np.isfinite(joints).all():
        raise ValueError("joints contain NaN or inf")
    sizes = {(c.height, c.width) for c in cameras}
    if len(sizes) != 1:
        raise ValueError(f"all cameras must share one image size, got {sorted(sizes)}")
    (height, width) = sizes.pop()
    out = np.empty((len(cameras), len(joints), height, width, 3), np.uint8)
    if len(joints) == 0:
        return out
    g = _build(joints, appearance, equipment)
    compiled, pts = _compile(g), g.points()
    palette = part_colors(appearance)
    for v, cam in enumerate(cameras):
        _render_view(out[v], compiled, pts, joints, cam, palette, v, scene_seed)
    return out
