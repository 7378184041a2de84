"""Procedural ShapeNet-like categories built from parametric parts (:mod:`.parts`).

Each builder draws proportions, styles and part counts from a numpy Generator and returns a
y-up mesh with the front along -z. :func:`build_shape` then centres the bounding box at the
origin and scales its diagonal to 1 (ShapeNetCore.v2's normalisation, so every shape lies in
the ball of radius ½ that PointFlow's JSD grid covers).

* **airplane**: fuselage, nose and tail cone; swept, tapered wings with dihedral; horizontal
  stabiliser and fin (conventional or T-tail); 0, 2 or 4 engine nacelles.
* **car**: body (sedan, hatchback, van or pickup), tapered cabin, 4 or 6 wheels, optional
  spoiler.
* **chair**: seat; four legs or an office pedestal with a 4–5 spoke base; solid, slatted or
  ladder back; arms on about half of them.
* **lamp**: round or square base; straight pole or an angled two-segment arm; frustum, dome or
  globe shade; a third of them with 2–3 arms.
* **table**: rectangular or round top; four legs (optional apron and shelf) or a pedestal on a
  disk or cross foot.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import trimesh

from polydit.pointcloud.parts import Parts


def _choice(rng: np.random.Generator, options: tuple[str, ...], p=None) -> str:
    return options[int(rng.choice(len(options), p=p))]


def airplane(rng: np.random.Generator) -> trimesh.Trimesh:
    parts = Parts()
    length = rng.uniform(1.6, 2.6)
    radius = rng.uniform(0.07, 0.14)
    body = length * rng.uniform(0.6, 0.75)  # the cylinder; a tail cone makes up the rest
    tail = (0, 0, body / 2 + (length - body))
    parts.rod((0, 0, -body / 2), (0, 0, body / 2), radius)
    parts.rod((0, 0, body / 2), tail, radius, radius * 0.15)
    parts.ellipsoid((radius, radius, radius * rng.uniform(1.0, 2.2)), (0, 0, -body / 2))
    span = length * rng.uniform(0.7, 1.25)
    chord = length * rng.uniform(0.12, 0.22)
    wing_z = rng.uniform(-0.15, 0.1) * length
    wing_y = rng.uniform(-0.7, 0.5) * radius
    sweep = rng.uniform(0.0, 0.65)
    parts.wing(
        span, chord, 0.02, (0, wing_y, wing_z), sweep, rng.uniform(-0.05, 0.12), rng.uniform(0.3, 1)
    )
    tail_z = length / 2 - chord * 0.4
    fin = rng.uniform(0.18, 0.32) * length
    t_tail = rng.random() < 0.3
    parts.wing(
        fin, chord * 0.8, 0.015, (0, radius * 0.5, tail_z - chord * 0.3), sweep, 0, 0.5, True
    )
    stab_y = radius * 0.5 + fin / 2 if t_tail else 0.0
    parts.wing(span * rng.uniform(0.3, 0.45), chord * 0.6, 0.015, (0, stab_y, tail_z), sweep)
    engines = int(rng.choice([0, 2, 4], p=[0.2, 0.55, 0.25]))
    for k in range(engines // 2):
        x = span * (0.18 + 0.15 * k) * rng.uniform(0.9, 1.1)
        z = wing_z + np.tan(sweep) * x - chord * 0.3
        r = radius * rng.uniform(0.35, 0.6)
        for side in (-1, 1):
            parts.rod((side * x, wing_y - r, z - chord * 0.6), (side * x, wing_y - r, z), r)
    return parts.mesh()


def car(rng: np.random.Generator) -> trimesh.Trimesh:
    parts = Parts()
    style = _choice(rng, ("sedan", "hatchback", "van", "pickup"), p=[0.4, 0.25, 0.15, 0.2])
    length, width = rng.uniform(0.9, 1.3), rng.uniform(0.38, 0.5)
    wheel_r = rng.uniform(0.07, 0.12)
    body_h = rng.uniform(0.12, 0.2)
    ground = wheel_r * rng.uniform(0.6, 0.9)
    parts.box((width, body_h, length), (0, ground + body_h / 2, 0))
    cabin_h = rng.uniform(0.1, 0.18) * (1.4 if style == "van" else 1.0)
    cabin_l = length * {"sedan": 0.45, "hatchback": 0.55, "van": 0.85, "pickup": 0.3}[style]
    cabin_l *= rng.uniform(0.85, 1.1)
    cabin_z = {"sedan": 0.02, "hatchback": 0.12, "van": 0.05, "pickup": -0.2}[style] * length
    top = ground + body_h + cabin_h / 2
    parts.box((width * 0.92, cabin_h, cabin_l), (0, top, cabin_z), taper=rng.uniform(0.65, 0.9))
    axles = 3 if style == "pickup" and rng.random() < 0.3 else 2
    wheel_w = rng.uniform(0.05, 0.09)
    for z in np.linspace(-length * 0.33, length * 0.33, axles):
        for side in (-1, 1):
            x = side * (width / 2 - wheel_w * 0.3)
            parts.rod((x - wheel_w / 2, wheel_r, z), (x + wheel_w / 2, wheel_r, z), wheel_r)
    if style in ("sedan", "hatchback") and rng.random() < 0.3:
        y = ground + body_h + 0.05
        parts.box((width * 0.9, 0.015, 0.07), (0, y, length / 2 - 0.05))
        for side in (-1, 1):
            parts.rod(
                (side * width * 0.3, y - 0.05, length / 2 - 0.05),
                (side * width * 0.3, y, length / 2 - 0.05),
                0.008,
            )
    return parts.mesh()


def chair(rng: np.random.Generator) -> trimesh.Trimesh:
    parts = Parts()
    width, depth = rng.uniform(0.4, 0.6), rng.uniform(0.38, 0.58)
    thick, height = rng.uniform(0.03, 0.08), rng.uniform(0.35, 0.5)
    parts.box((width, thick, depth), (0, height, 0))
    if rng.random() < 0.75:  # four legs, square or round, possibly splayed
        leg = rng.uniform(0.02, 0.045)
        splay = rng.uniform(0.0, 0.06)
        round_legs = rng.random() < 0.5
        for sx in (-1, 1):
            for sz in (-1, 1):
                x, z = sx * (width / 2 - leg), sz * (depth / 2 - leg)
                foot = (x + sx * splay, 0.0, z + sz * splay)
                if round_legs:
                    parts.rod(foot, (x, height, z), leg / 2)
                else:
                    parts.box((leg, height, leg), (x, height / 2, z))
    else:  # office chair: pedestal and a star base
        post = rng.uniform(0.025, 0.045)
        parts.rod((0, 0.06, 0), (0, height, 0), post)
        spokes = int(rng.integers(4, 6))
        reach = rng.uniform(0.25, 0.35)
        for k in range(spokes):
            a = 2 * np.pi * k / spokes
            parts.rod((0, 0.05, 0), (reach * np.cos(a), 0.02, reach * np.sin(a)), 0.018)
    back_h = rng.uniform(0.3, 0.6)
    back_t = rng.uniform(0.025, 0.06)
    back_z = depth / 2 - back_t / 2
    base = height + thick / 2
    style = _choice(rng, ("solid", "slats", "ladder"), p=[0.5, 0.25, 0.25])
    if style == "solid":
        parts.box((width, back_h, back_t), (0, base + back_h / 2, back_z))
    else:
        post_w = rng.uniform(0.025, 0.045)
        for sx in (-1, 1):
            parts.box(
                (post_w, back_h, back_t), (sx * (width / 2 - post_w / 2), base + back_h / 2, back_z)
            )
        rail = rng.uniform(0.04, 0.09)
        parts.box((width, rail, back_t), (0, base + back_h - rail / 2, back_z))
        count = int(rng.integers(2, 6))
        if style == "slats":
            for x in np.linspace(-width / 2, width / 2, count + 2)[1:-1]:
                parts.box(
                    (post_w * 0.8, back_h - rail, back_t * 0.6),
                    (x, base + (back_h - rail) / 2, back_z),
                )
        else:
            for y in np.linspace(base, base + back_h - rail, count + 1)[1:]:
                parts.box((width, rail * 0.5, back_t * 0.6), (0, y, back_z))
    if rng.random() < 0.5:  # arms: a rest and a front support on each side
        arm_h = rng.uniform(0.15, 0.28)
        arm_w = rng.uniform(0.03, 0.07)
        for sx in (-1, 1):
            x = sx * (width / 2 + arm_w / 2)
            parts.box((arm_w, 0.03, depth), (x, base + arm_h, 0))
            parts.box((arm_w * 0.7, arm_h, arm_w * 0.7), (x, base + arm_h / 2, -depth / 2 + arm_w))
    return parts.mesh()


def lamp(rng: np.random.Generator) -> trimesh.Trimesh:
    parts = Parts()
    base_r, base_h = rng.uniform(0.1, 0.22), rng.uniform(0.02, 0.07)
    if rng.random() < 0.7:
        parts.frustum(base_r, base_r * rng.uniform(0.6, 1.0), base_h, (0, base_h / 2, 0))
    else:
        parts.box((2 * base_r, base_h, 2 * base_r), (0, base_h / 2, 0), taper=0.8)
    pole_r = rng.uniform(0.01, 0.025)
    height = rng.uniform(0.4, 1.2)
    arms = 1 if rng.random() < 0.67 else int(rng.integers(2, 4))
    angled = arms == 1 and rng.random() < 0.4
    if angled:  # desk lamp: two segments
        elbow = (rng.uniform(-0.1, 0.1), height * rng.uniform(0.45, 0.7), rng.uniform(-0.2, 0.05))
        tip = (elbow[0], height, elbow[2] - rng.uniform(0.15, 0.35))
        parts.rod((0, base_h, 0), elbow, pole_r)
        parts.rod(elbow, tip, pole_r)
        heads = [np.array(tip)]
    else:
        top = np.array([0.0, height, 0.0])
        parts.rod((0, base_h, 0), top, pole_r)
        heads = [top]
        if arms > 1:
            reach = rng.uniform(0.15, 0.3)
            heads = []
            for k in range(arms):
                a = 2 * np.pi * k / arms + rng.uniform(-0.2, 0.2)
                end = top + np.array(
                    [reach * np.cos(a), rng.uniform(-0.05, 0.1), reach * np.sin(a)]
                )
                parts.rod(top, end, pole_r * 0.8)
                heads.append(end)
    shade = _choice(rng, ("frustum", "dome", "globe"), p=[0.55, 0.25, 0.2])
    size = min(rng.uniform(0.1, 0.25), 0.3 * height) / (1 + 0.3 * (arms - 1))
    for head in heads:
        if shade == "frustum":
            h = size * rng.uniform(0.8, 1.4)
            parts.frustum(size, size * rng.uniform(0.4, 0.8), h, head - np.array([0, h * 0.3, 0]))
        elif shade == "dome":
            parts.ellipsoid((size, size * 0.6, size), head)
        else:
            parts.ellipsoid((size * 0.7,) * 3, head + np.array([0, size * 0.5, 0]))
    return parts.mesh()


def table(rng: np.random.Generator) -> trimesh.Trimesh:
    parts = Parts()
    height = rng.uniform(0.5, 0.8)
    thick = rng.uniform(0.03, 0.07)
    round_top = rng.random() < 0.3
    if round_top:
        radius = rng.uniform(0.35, 0.6)
        parts.frustum(radius, radius, thick, (0, height, 0))
        width = depth = radius * np.sqrt(2)
    else:
        width, depth = rng.uniform(0.8, 1.6), rng.uniform(0.5, 1.0)
        parts.box((width, thick, depth), (0, height, 0))
    if rng.random() < 0.7:  # four legs
        leg = rng.uniform(0.03, 0.07)
        inset = rng.uniform(0.0, 0.08)
        for sx in (-1, 1):
            for sz in (-1, 1):
                x, z = sx * (width / 2 - leg - inset), sz * (depth / 2 - leg - inset)
                parts.box((leg, height, leg), (x, height / 2, z))
        if rng.random() < 0.5:  # apron boards under the top
            apron = rng.uniform(0.05, 0.1)
            y = height - thick / 2 - apron / 2
            for sz in (-1, 1):
                parts.box(
                    (width - 2 * inset - leg, apron, 0.02), (0, y, sz * (depth / 2 - inset - leg))
                )
            for sx in (-1, 1):
                parts.box(
                    (0.02, apron, depth - 2 * inset - leg), (sx * (width / 2 - inset - leg), y, 0)
                )
        if rng.random() < 0.3:  # a lower shelf
            parts.box(
                (width - 2 * inset, 0.025, depth - 2 * inset),
                (0, height * rng.uniform(0.15, 0.35), 0),
            )
    else:  # pedestal
        post = rng.uniform(0.04, 0.1)
        parts.rod((0, 0.02, 0), (0, height, 0), post)
        foot = min(width, depth) * rng.uniform(0.3, 0.45)
        if rng.random() < 0.5:
            parts.frustum(foot, foot * 0.8, 0.04, (0, 0.02, 0))
        else:
            for a in (0, np.pi / 2):
                parts.box(
                    (2 * foot * abs(np.cos(a)) + 0.05, 0.04, 2 * foot * abs(np.sin(a)) + 0.05),
                    (0, 0.02, 0),
                )
    return parts.mesh()


BUILDERS: dict[str, Callable[[np.random.Generator], trimesh.Trimesh]] = {
    "airplane": airplane,
    "car": car,
    "chair": chair,
    "lamp": lamp,
    "table": table,
}
CATEGORIES: tuple[str, ...] = tuple(BUILDERS)


def build_shape(category: str, rng: np.random.Generator) -> trimesh.Trimesh:
    """One random shape of `category`: bounding box centred at 0, diagonal 1."""
    mesh = BUILDERS[category](rng)
    lo, hi = mesh.bounds
    mesh.vertices = (np.asarray(mesh.vertices) - (lo + hi) / 2) / np.linalg.norm(hi - lo)
    return mesh
