"""The project's procedurally painted style images: stained glass, brush strokes, pointillism, waves, cubist
shards, a Mondrian grid, hatching, marbling.

Each ``make_<name>(size, rng)`` paints from nothing but a seeded ``np.random.default_rng``, ``scipy.ndimage``
and ``PIL.ImageDraw``, so the output is byte-for-byte reproducible; varied in colour, scale and stroke so that
style transfer visibly differs between them. ``[size, size, 3]`` ``uint8``.

Shown in ``notebooks/00_overview.ipynb`` and ``02_style_matrix.ipynb``.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from gantransfer.core import noise as pn
from gantransfer.core.noise import Array

#: Side of the style images as stored in ``data/styles``.
STYLE_SIZE = 512


#: Smallest ``size`` that :func:`make_style` accepts.
MIN_STYLE_SIZE = 32


def make_stained_glass(size: int, rng: np.random.Generator) -> Array:
    """Stained glass: a rose window of jewel-coloured Voronoi panes in dark lead came.

    Args:
        size: side of the square image in pixels.
        rng: the only source of randomness.

    Returns:
        ``[size, size, 3]`` uint8.
    """
    s = size / 512
    y, x = pn.grid(size)
    # Voronoi panes from a jittered grid of seeds.
    n = 12
    gy, gx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    sy = (gy.ravel() + rng.uniform(0.1, 0.9, n * n)) / n
    sx = (gx.ravel() + rng.uniform(0.1, 0.9, n * n)) / n
    seeds = np.zeros((size, size), dtype=np.int64)
    seeds[(sy * size).astype(int), (sx * size).astype(int)] = np.arange(1, n * n + 1)
    from scipy import ndimage  # lazy: scipy.ndimage takes ~0.15 s to import; stylize with a bundled style never paints
    dist, (iy, ix) = ndimage.distance_transform_edt(seeds == 0, return_indices=True)
    cell = seeds[iy, ix]
    # Rose window: rings and 12 sectors cut the panes inside a circle.
    dy, dx = y - 0.5, x - 0.5
    r = np.hypot(dy, dx)
    theta = np.mod(np.arctan2(dy, dx) + np.pi / 2, 2 * np.pi)
    ring = np.floor(r / 0.095).astype(np.int64)
    sector = np.floor(theta / (2 * np.pi / 12)).astype(np.int64)
    inside = ring < 5
    part = np.where(inside, 1 + ring * 12 + np.where(ring == 0, 0, sector), 0)
    region_id = cell * 64 + part
    uniq, inv = np.unique(region_id.ravel(), return_inverse=True)
    inv = inv.reshape(size, size)
    reg_cell, reg_part = uniq // 64, uniq % 64
    reg_ring, reg_sector = (reg_part - 1) // 12, (reg_part - 1) % 12

    jewels = np.array([
        (160, 18, 38), (18, 70, 170), (0, 125, 80), (240, 170, 20),
        (110, 35, 140), (0, 140, 160), (215, 80, 20), (30, 40, 120),
    ], dtype=np.float64)
    window = [(240, 170, 20), (160, 18, 38), (18, 70, 170), (0, 125, 80), (110, 35, 140)]
    cell_colour = jewels[rng.integers(0, len(jewels), n * n + 1)]
    reg_colour = cell_colour[reg_cell].copy()
    in_win = reg_part > 0
    alt = np.array([(215, 80, 20), (0, 140, 160), (240, 170, 20), (160, 18, 38), (30, 40, 120)], float)
    ring_col = np.array(window, float)[np.clip(reg_ring, 0, 4)]
    alt_col = alt[np.clip(reg_ring, 0, 4)]
    win_col = np.where((reg_sector % 2 == 1)[:, None] & (reg_ring > 0)[:, None], alt_col, ring_col)
    reg_colour[in_win] = win_col[in_win]
    reg_colour *= rng.uniform(0.8, 1.12, (len(uniq), 1))

    # Glass shading: panes glow at their seed, plus a mottled glass texture.
    radius = size / n * 0.75
    glow = 1.18 - 0.5 * np.clip(dist / radius, 0.0, 1.3)
    mottle = 0.85 + 0.3 * pn.value_noise(rng, size, cells=28, octaves=2)
    light = 0.8 + 0.35 * pn.value_noise(rng, size, cells=2, octaves=1)
    img = reg_colour[inv] * (glow * mottle * light)[..., None]

    lead = pn.thicken(pn.edges(inv), pn.px(2, s, 0))
    lead |= pn.thicken(np.abs(r - 0.475) < 1.5 / size, pn.px(3, s, 0))
    lead_col = 28 + 20 * pn.value_noise(rng, size, cells=40)
    img = np.where(lead[..., None], lead_col[..., None] * np.array([1.0, 0.95, 1.05]), img)
    return pn.to_uint8(img)


def make_brush_strokes(size: int, rng: np.random.Generator) -> Array:
    """Brush strokes: thousands of short curved strokes swirling along a noise flow field.

    A night sky of blues around glowing yellow vortices over dark rolling hills, painted
    in three passes (broad, medium, fine strokes) like an impasto post-impressionist canvas.

    Args:
        size: side of the square image in pixels.
        rng: the only source of randomness.

    Returns:
        ``[size, size, 3]`` uint8.
    """
    s, ss = size / 512, 2
    y, x = pn.grid(size)
    # Flow field: a smooth noise angle plus swirling vortices; hills flow sideways.
    base = 2 * np.pi * 1.5 * pn.value_noise(rng, size, cells=3, octaves=2)
    vx, vy = 0.5 * np.cos(base), 0.5 * np.sin(base)
    vortices = [(rng.uniform(0.18, 0.32), rng.uniform(0.2, 0.4), 0.17),
                (rng.uniform(0.3, 0.45), rng.uniform(0.6, 0.8), 0.13),
                (rng.uniform(0.1, 0.2), rng.uniform(0.75, 0.9), 0.08)]
    glow = np.zeros((size, size))
    for cy, cx, rad in vortices:
        dy, dx = y - cy, x - cx
        d = np.hypot(dy, dx) + 1e-9
        w = 2.2 * np.exp(-(d / rad) ** 2)
        vx += w * (-dy / d + 0.15 * dx / d)
        vy += w * (dx / d + 0.15 * dy / d)
        glow = np.maximum(glow, np.exp(-(d / (0.45 * rad)) ** 2))
    hill_line = 0.66 + 0.08 * (pn.noise1d(rng, size, cells=4) - 0.5) * 2
    hill = np.clip((y - hill_line[None, :]) * 40, 0, 1)
    vx = vx * (1 - hill) + 1.0 * hill
    vy = vy * (1 - hill) + 0.25 * np.sin(x * 9) * hill
    # A flame-like cypress on one side, with upward strokes.
    cyp_x = rng.uniform(0.08, 0.2) if rng.random() < 0.5 else rng.uniform(0.8, 0.92)
    top = rng.uniform(0.12, 0.22)
    half = 0.1 * np.sqrt(np.clip((y - top) / (1 - top), 0, 1)) * (1 + 0.3 * np.sin(y * 47))
    cyp = np.clip((half - np.abs(x - cyp_x)) * 60, 0, 1) * (y > top)
    vx = vx * (1 - cyp) + 0.35 * np.sin(y * 31) * cyp
    vy = vy * (1 - cyp) - 1.0 * cyp
    angle = np.arctan2(vy, vx)

    sky = pn.ramp(pn.value_noise(rng, size, cells=3, octaves=3),
                [(10, 25, 75), (25, 60, 150), (55, 105, 190), (110, 165, 215), (180, 210, 225)])
    warm = pn.ramp(pn.value_noise(rng, size, cells=5, octaves=2), [(250, 240, 175), (245, 205, 60), (225, 140, 35)])
    colour = sky * (1 - glow[..., None]) + warm * glow[..., None]
    land = pn.ramp(pn.value_noise(rng, size, cells=6, octaves=2),
                 [(12, 28, 50), (25, 60, 75), (45, 90, 80), (110, 115, 60), (30, 45, 100)])
    colour = colour * (1 - hill[..., None]) + land * hill[..., None]
    tree = pn.ramp(pn.value_noise(rng, size, cells=12), [(5, 14, 12), (15, 40, 28), (45, 62, 30), (12, 20, 42)])
    colour = colour * (1 - cyp[..., None]) + tree * cyp[..., None]

    from scipy import ndimage  # lazy: scipy.ndimage takes ~0.15 s to import; stylize with a bundled style never paints
    under = pn.to_uint8(ndimage.gaussian_filter(colour, sigma=(6 * s, 6 * s, 0)))
    canvas = Image.fromarray(under).resize((size * ss, size * ss), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(canvas)
    layers = [(1100, 56, 12.0), (2600, 34, 7.0), (4200, 20, 4.0)]  # (count, length px, width px)
    steps = 6
    for count, length, width in layers:
        m = max(4, int(count * s * s))
        px = rng.uniform(0, size, m)
        py = rng.uniform(0, size, m)
        jitter = rng.normal(0, 16, (m, 3))
        bright = rng.uniform(0.82, 1.22, (m, 1))
        ix = np.clip(px.astype(int), 0, size - 1)
        iy = np.clip(py.astype(int), 0, size - 1)
        cols = pn.to_uint8(colour[iy, ix] * bright + jitter)
        pts = [(px, py)]
        step = length * s / steps
        for _ in range(steps):
            a = angle[np.clip(py.astype(int), 0, size - 1), np.clip(px.astype(int), 0, size - 1)]
            px = px + step * np.cos(a)
            py = py + step * np.sin(a)
            pts.append((px, py))
        xs = np.stack([p[0] for p in pts], axis=1) * ss
        ys = np.stack([p[1] for p in pts], axis=1) * ss
        w = max(1, int(round(width * s * ss)))
        hw = max(1, w // 3)
        for i in range(m):
            line = list(zip(xs[i].tolist(), ys[i].tolist()))
            c = tuple(int(v) for v in cols[i])
            hi = tuple(min(255, int(v * 1.25 + 25)) for v in cols[i])
            draw.line(line, fill=c, width=w, joint="curve")
            r = w / 2
            for ex, ey in (line[0], line[-1]):
                draw.ellipse((ex - r, ey - r, ex + r, ey + r), fill=c)
            draw.line([(px_ - hw, py_ - hw) for px_, py_ in line[1:-1]], fill=hi, width=hw)
    return pn.downsample(canvas, ss)


def make_pointillism(size: int, rng: np.random.Generator) -> Array:
    """Pointillism: a sunny landscape painted in dense dots of pure colour on a cream ground.

    Args:
        size: side of the square image in pixels.
        rng: the only source of randomness.

    Returns:
        ``[size, size, 3]`` uint8.
    """
    s, ss = size / 512, 2
    y, x = pn.grid(size)
    scene = pn.ramp(y / 0.6, [(80, 140, 220), (140, 190, 235), (245, 225, 170), (250, 170, 120)])
    sun_y, sun_x = rng.uniform(0.18, 0.3), rng.uniform(0.6, 0.8)
    sd = np.hypot(y - sun_y, x - sun_x)
    sun = np.clip((0.085 - sd) * 60, 0, 1)[..., None]
    halo = np.exp(-(sd / 0.2) ** 2)[..., None]
    scene = scene * (1 - 0.6 * halo) + np.array([255, 210, 120]) * 0.6 * halo
    scene = scene * (1 - sun) + np.array([255, 240, 120]) * sun
    hills = 0.5 + 0.12 * (pn.noise1d(rng, size, cells=4) - 0.5) * 2
    m_hill = (y > hills[None, :])[..., None]
    hill_col = pn.ramp(pn.value_noise(rng, size, cells=4, octaves=2), [(90, 80, 160), (120, 110, 180), (80, 130, 150)])
    scene = np.where(m_hill, hill_col, scene)
    water = 0.62 + 0.02 * (pn.noise1d(rng, size, cells=3) - 0.5)
    m_water = (y > water[None, :])[..., None]
    ripple = 0.5 + 0.5 * np.sin(y * size * 0.35 + 3 * pn.value_noise(rng, size, cells=8))
    water_col = pn.ramp(0.3 * ripple + 0.7 * (y - 0.6) / 0.15, [(120, 170, 225), (60, 110, 190), (40, 80, 160)])
    scene = np.where(m_water, water_col, scene)
    meadow = 0.76 + 0.06 * (pn.noise1d(rng, size, cells=3) - 0.5) * 2
    m_meadow = (y > meadow[None, :])[..., None]
    grass = pn.ramp(pn.value_noise(rng, size, cells=10, octaves=2), [(40, 110, 50), (90, 160, 60), (180, 190, 70)])
    flowers = (pn.value_noise(rng, size, cells=40) > 0.78)[..., None]
    grass = np.where(flowers, np.array([235, 80, 60]), grass)
    scene = np.where(m_meadow, grass, scene)
    # Two round trees on the meadow.
    for _ in range(2):
        ty, tx, tr = rng.uniform(0.62, 0.72), rng.uniform(0.1, 0.9), rng.uniform(0.07, 0.11)
        td = np.hypot((y - ty) / 1.2, x - tx)
        trunk = (np.abs(x - tx) < 0.012) & (y > ty) & (y < ty + 1.9 * tr)
        scene = np.where(trunk[..., None], np.array([90, 60, 40]), scene)
        scene = np.where((td < tr)[..., None], pn.ramp(1 - td / tr, [(20, 70, 50), (50, 130, 60), (110, 170, 70)]), scene)

    ground = np.full((size * ss, size * ss, 3), (244, 236, 215), dtype=np.uint8)
    canvas = Image.fromarray(ground)
    draw = ImageDraw.Draw(canvas)
    accents = np.array([(235, 70, 50), (250, 205, 50), (60, 110, 225), (150, 70, 185),
                        (40, 170, 90), (250, 140, 40)], dtype=np.float64)
    for count, radius in [(3800, 4.8), (9000, 3.4), (9000, 2.4)]:
        m = max(4, int(count * s * s))
        px, py = rng.uniform(0, size, m), rng.uniform(0, size, m)
        base = scene[np.clip(py.astype(int), 0, size - 1), np.clip(px.astype(int), 0, size - 1)]
        use_accent = rng.random(m) < 0.22
        accent = accents[rng.integers(0, len(accents), m)]
        cols = np.where(use_accent[:, None], 0.45 * base + 0.55 * accent, base) + rng.normal(0, 14, (m, 3))
        cols = pn.to_uint8(cols * rng.uniform(0.9, 1.12, (m, 1)))
        rad = radius * s * ss * rng.uniform(0.75, 1.25, m)
        for i in range(m):
            cx, cy, r = px[i] * ss, py[i] * ss, max(0.7, rad[i])
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(int(v) for v in cols[i]))
    return pn.downsample(canvas, ss)


def make_waves(size: int, rng: np.random.Generator) -> Array:
    """Waves: ukiyo-e woodblock sea of layered Prussian-blue waves with white foam claws.

    A limited palette (paper, indigo, Prussian blue, pale blue, white, a vermilion sun) and
    strong outlines; the waves grow from the horizon to the foreground.

    Args:
        size: side of the square image in pixels.
        rng: the only source of randomness.

    Returns:
        ``[size, size, 3]`` uint8.
    """
    s, ss = size / 512, 2
    S = size * ss
    y, x = pn.grid(size)
    paper = pn.ramp(y / 0.42, [(238, 226, 196), (236, 218, 180), (228, 200, 160)]) * pn.grain(rng, size, 0.08)
    canvas = Image.fromarray(pn.to_uint8(paper)).resize((S, S), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(canvas)
    navy = (18, 32, 70)
    # Sun, distant mountain, and stylised cloud bands.
    sx, sy, sr = rng.uniform(0.66, 0.84) * S, rng.uniform(0.12, 0.2) * S, 0.075 * S
    draw.ellipse((sx - sr, sy - sr, sx + sr, sy + sr), fill=(205, 62, 40))
    mx = rng.uniform(0.22, 0.4) * S
    draw.polygon([(mx - 0.17 * S, 0.44 * S), (mx, 0.27 * S), (mx + 0.17 * S, 0.44 * S)], fill=(60, 78, 120))
    draw.polygon([(mx - 0.06 * S, 0.33 * S), (mx, 0.27 * S), (mx + 0.06 * S, 0.33 * S),
                  (mx + 0.025 * S, 0.315 * S), (mx, 0.335 * S), (mx - 0.03 * S, 0.31 * S)], fill=(245, 242, 232))
    for _ in range(3):
        cy, cx, cw = rng.uniform(0.06, 0.3) * S, rng.uniform(0.0, 0.8) * S, rng.uniform(0.15, 0.3) * S
        h = 0.018 * S
        draw.rounded_rectangle((cx, cy, cx + cw, cy + h), radius=h / 2, fill=(246, 238, 220),
                               outline=(200, 170, 140), width=max(1, int(s * ss)))

    blues = [(120, 160, 200), (80, 125, 180), (45, 90, 155), (30, 70, 140), (22, 55, 120),
             (18, 45, 105), (30, 75, 145), (15, 40, 95)]
    n_layers = len(blues)
    lw = max(1, int(round(2.2 * s * ss)))
    for i, fill in enumerate(blues):
        f = i / (n_layers - 1)
        base = (0.42 + 0.6 * f) * S
        amp = (0.015 + 0.085 * f**1.4) * S
        q = rng.uniform(0.7, 0.88)  # crest sharpness (trochoid)
        k = q / amp
        x0 = rng.uniform(0, 2 * np.pi / k)
        theta = np.linspace(k * (-0.1 * S - x0), k * (1.1 * S - x0), 900)
        mod = 0.75 + 0.5 * pn.noise1d(rng, 900, cells=5)
        r = amp * mod
        cx = theta / k - amp * np.sin(theta) + x0
        cy = base - r * np.cos(theta)
        poly = list(zip(cx.tolist(), cy.tolist())) + [(1.1 * S, 1.2 * S), (-0.1 * S, 1.2 * S)]
        draw.polygon(poly, fill=fill)
        # Inner parallel lines in a paler blue follow the wave surface.
        pale = tuple(min(255, int(c * 1.6 + 40)) for c in fill)
        for j in range(1, 6):
            off = j * (0.22 * amp + 5 * s * ss)
            draw.line(list(zip(cx.tolist(), (cy + off).tolist())), fill=pale, width=max(1, lw // 2))
        draw.line(poly[:900], fill=navy, width=lw, joint="curve")
        # White foam along the crests, with claw-like droplets above them.
        crest = np.cos(theta) > 0.55
        starts = np.flatnonzero(crest & ~np.r_[False, crest[:-1]])
        for a in starts:
            b = a
            while b + 1 < len(crest) and crest[b + 1]:
                b += 1
            seg = list(zip(cx[a:b + 1].tolist(), (cy[a:b + 1] + lw).tolist()))
            if len(seg) > 1:
                draw.line(seg, fill=(246, 244, 236), width=max(1, int(lw * (1.2 + 2 * f))), joint="curve")
            n_drops = int(4 + 14 * f)
            idx = rng.integers(a, b + 1, n_drops)
            rad = rng.uniform(1.5, 3 + 5 * f, n_drops) * s * ss
            lift = rng.uniform(0.5, 2.5, n_drops) * rad + lw
            for t, rr, ll in zip(idx, rad, lift):
                ex, ey = cx[t], cy[t] - ll
                draw.ellipse((ex - rr, ey - rr, ex + rr, ey + rr), fill=(246, 244, 236), outline=navy,
                             width=max(1, lw // 2))
    return pn.downsample(canvas, ss)


def make_cubist(size: int, rng: np.random.Generator) -> Array:
    """Cubist: angular shards cut by straight lines and arcs, shaded in ochre, umber and grey.

    Some shards carry a stripe or dot texture, like Braque's papier collé.

    Args:
        size: side of the square image in pixels.
        rng: the only source of randomness.

    Returns:
        ``[size, size, 3]`` uint8.
    """
    s = size / 512
    y, x = pn.grid(size)
    code = np.zeros((size, size), dtype=np.int64)
    n_lines = 15
    for k in range(n_lines):
        py, px = rng.uniform(0.1, 0.9, 2)
        a = rng.uniform(0, np.pi)
        code |= (((x - px) * np.sin(a) - (y - py) * np.cos(a)) > 0).astype(np.int64) << k
    for k in range(3):
        cy, cx, cr = rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75), rng.uniform(0.12, 0.3)
        code |= (np.hypot(y - cy, x - cx) < cr).astype(np.int64) << (n_lines + k)
    uniq, inv = np.unique(code.ravel(), return_inverse=True)
    inv = inv.reshape(size, size)
    n_reg = len(uniq)
    palette = np.array([(205, 150, 70), (150, 95, 50), (95, 65, 40), (150, 145, 130), (125, 120, 70),
                        (225, 205, 160), (80, 85, 90), (105, 120, 135), (185, 110, 60), (50, 45, 40)], float)
    reg_col = palette[rng.integers(0, len(palette), n_reg)] * rng.uniform(0.85, 1.1, (n_reg, 1))
    ang = rng.uniform(0, 2 * np.pi, n_reg)
    proj = x * np.cos(ang)[inv] + y * np.sin(ang)[inv]
    index = np.arange(n_reg)
    from scipy import ndimage  # lazy: scipy.ndimage takes ~0.15 s to import; stylize with a bundled style never paints
    pmin = np.asarray(ndimage.minimum(proj, labels=inv, index=index))
    pmax = np.asarray(ndimage.maximum(proj, labels=inv, index=index))
    t = (proj - pmin[inv]) / np.maximum(pmax - pmin, 1e-9)[inv]
    shade = 0.55 + 0.65 * t**0.8
    img = reg_col[inv] * shade[..., None]
    # Textured shards: stripes or dots.
    kind = rng.integers(0, 6, n_reg)[inv]
    tex_ang = rng.uniform(0, np.pi, n_reg)[inv]
    u = (x * np.cos(tex_ang) + y * np.sin(tex_ang)) * size / (9 * s)
    v = (-x * np.sin(tex_ang) + y * np.cos(tex_ang)) * size / (9 * s)
    stripes = (np.mod(u, 1.0) < 0.35) & (kind == 0)
    dots = (np.hypot(np.mod(u, 1.0) - 0.5, np.mod(v, 1.0) - 0.5) < 0.22) & (kind == 1)
    img = np.where(stripes[..., None], img * 0.55, img)
    img = np.where(dots[..., None], img * 0.5 + 110, img)
    edge = pn.thicken(pn.edges(inv), pn.px(1.5, s, 0))
    img = np.where(edge[..., None], np.array([40, 30, 22]), img)
    img *= pn.grain(rng, size, 0.12)
    return pn.to_uint8(img)


def make_mondrian(size: int, rng: np.random.Generator) -> Array:
    """Mondrian: a recursive grid of black lines with white, red, blue and yellow fields.

    Args:
        size: side of the square image in pixels.
        rng: the only source of randomness.

    Returns:
        ``[size, size, 3]`` uint8.
    """
    s = size / 512
    rects: list[tuple[float, float, float, float]] = []

    def split(x0: float, y0: float, x1: float, y1: float, depth: int) -> None:
        w, h = x1 - x0, y1 - y0
        if depth >= 6 or max(w, h) < 0.14 or (w * h < 0.12 and rng.random() < 0.45):
            rects.append((x0, y0, x1, y1))
            return
        vertical = w > h if abs(w - h) > 0.08 else rng.random() < 0.5
        t = rng.choice([0.25, 0.33, 0.4, 0.6, 0.67, 0.75])
        if vertical:
            xm = x0 + t * w
            split(x0, y0, xm, y1, depth + 1)
            split(xm, y0, x1, y1, depth + 1)
        else:
            ym = y0 + t * h
            split(x0, y0, x1, ym, depth + 1)
            split(x0, ym, x1, y1, depth + 1)

    split(0.0, 0.0, 1.0, 1.0, 0)
    colours = {"white": (238, 234, 222), "grey": (205, 205, 200), "red": (200, 30, 35),
               "blue": (25, 55, 150), "yellow": (245, 200, 30), "black": (25, 25, 28)}
    names = list(colours)
    fills = list(rng.choice(names, len(rects), p=[0.7, 0.1, 0.05, 0.05, 0.07, 0.03]))
    areas = np.array([(r[2] - r[0]) * (r[3] - r[1]) for r in rects])
    big = np.argsort(-areas, kind="stable")[: max(3, len(rects) // 2)]
    for name, i in zip(["red", "blue", "yellow"], rng.permutation(big)[:3]):
        fills[i] = name
    half = max(1, int(round(5 * s)))
    img = Image.new("RGB", (size, size), colours["black"])
    draw = ImageDraw.Draw(img)
    for (x0, y0, x1, y1), name in zip(rects, fills):
        box = (round(x0 * size) + half, round(y0 * size) + half, round(x1 * size) - half - 1,
               round(y1 * size) - half - 1)
        if box[2] >= box[0] and box[3] >= box[1]:
            draw.rectangle(box, fill=colours[name])
    arr = np.asarray(img, dtype=np.float64)
    from scipy import ndimage  # lazy: scipy.ndimage takes ~0.15 s to import; stylize with a bundled style never paints
    streak = pn.normalise(ndimage.gaussian_filter(rng.standard_normal((size, size)), sigma=(0.7, 10 * s + 0.5)))
    texture = 1.0 + 0.1 * (streak - 0.5) + 0.0
    return pn.to_uint8(arr * texture[..., None] * pn.grain(rng, size, 0.05))


def make_hatching(size: int, rng: np.random.Generator) -> Array:
    """Hatching: a pen-and-ink still life of spheres in sepia cross-hatching on cream paper.

    Darker tones get more hatch directions (straight on the background, curved on the
    spheres); line ends taper where the tone lightens, and lines break like a real pen's.

    Args:
        size: side of the square image in pixels.
        rng: the only source of randomness.

    Returns:
        ``[size, size, 3]`` uint8.
    """
    s = size / 512
    y, x = pn.grid(size)
    horizon = 0.6 + 0.04 * (pn.noise1d(rng, size, cells=3) - 0.5)
    clouds = pn.value_noise(rng, size, cells=3, octaves=3)
    tone = 1.05 - 0.55 * np.clip((clouds - 0.55) / 0.3, 0, 1) - 0.2 * np.clip(y / 0.6, 0, 1) ** 4
    ground = y > horizon[None, :]
    floor = 0.88 - 0.3 * (y - 0.6) / 0.4 + 0.25 * (pn.value_noise(rng, size, cells=5, octaves=2) - 0.5)
    tone = np.where(ground, floor, tone)
    light = np.array([-0.55, -0.65, 0.55])
    light = light / math.sqrt(float(light @ light))
    spheres = sorted(
        [(rng.uniform(0.42, 0.52), rng.uniform(0.2, 0.35), rng.uniform(0.15, 0.18)),
         (rng.uniform(0.56, 0.64), rng.uniform(0.6, 0.78), rng.uniform(0.11, 0.14)),
         (rng.uniform(0.74, 0.8), rng.uniform(0.4, 0.55), rng.uniform(0.07, 0.09))],
        key=lambda c: c[0] + c[2])
    owner = np.full((size, size), -1)
    outline = np.zeros((size, size))
    line_w = 1.4 * max(1.0, s)
    for k, (cy, cx, cr) in enumerate(spheres):
        shadow = ((x - cx - 1.0 * cr) / (1.4 * cr)) ** 2 + ((y - cy - 0.88 * cr) / (0.3 * cr)) ** 2 < 1
        tone = np.where(shadow & (owner < 0), tone * 0.3, tone)
        d = np.hypot(y - cy, x - cx)
        inside = d < cr
        nx, ny = (x - cx) / cr, (y - cy) / cr
        nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0, 1))
        lam = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)
        bounce = 0.18 * np.clip(ny, 0, 1) * np.clip(1 - lam * 3, 0, 1)
        tone = np.where(inside, 0.02 + 1.0 * lam**1.1 + bounce, tone)
        owner = np.where(inside, k, owner)
        outline = np.where(inside, 0.0, outline)
        outline = np.maximum(outline, np.clip(line_w / 2 + 0.5 - np.abs(d - cr) * size, 0, 1))
    period = max(2.0, 7.0 * s)
    layers = [(0.9, 45, (-2.2, -1.2)), (0.68, -45, (2.2, -1.2)), (0.46, 0, (0.0, -2.6)),
              (0.26, 80, (-2.6, 0.4))]
    ink = np.zeros((size, size))
    for thr, deg, (ox, oy) in layers:
        a = np.deg2rad(deg)
        u = (x * np.cos(a) + y * np.sin(a)) * size
        for k, (cy, cx, cr) in enumerate(spheres):  # curved hatching on the spheres
            u = np.where(owner == k, np.hypot(x - cx - ox * cr, y - cy - oy * cr) * size, u)
        u = u + (pn.value_noise(rng, size, cells=7) - 0.5) * period * 1.2
        dist = np.abs(np.mod(u, period) - period / 2)
        strength = np.clip((thr - tone) / 0.12, 0, 1)
        pen = 0.55 + 0.45 * (pn.value_noise(rng, size, cells=size / 12) > 0.22)
        half_w = 0.8 * max(s, 0.6) * strength * pen
        coverage = np.minimum(np.clip(half_w + 0.5 - dist, 0, 1), np.minimum(1.0, 2 * half_w))
        ink = np.maximum(ink, coverage)
    ink = np.maximum(ink, outline)
    horizon_line = np.clip(line_w / 2 + 0.5 - np.abs(y - horizon[None, :]) * size, 0, 1) * (owner < 0)
    ink = np.maximum(ink, 0.85 * horizon_line)
    paper = np.array([244, 234, 210]) * pn.grain(rng, size, 0.08)
    ink_col = np.array([48, 32, 26])
    return pn.to_uint8(paper * (1 - ink[..., None]) + ink_col * ink[..., None])


def make_marbling(size: int, rng: np.random.Generator) -> Array:
    """Marbling: combed and swirled bands of teal, gold, burgundy and cream with dark veins.

    Like Turkish ebru paper: stripes and drops of paint on water, combed and swirled by
    inverse-warping the pixel grid.

    Args:
        size: side of the square image in pixels.
        rng: the only source of randomness.

    Returns:
        ``[size, size, 3]`` uint8.
    """
    y, x = pn.grid(size)
    u, v = x.copy(), y.copy()
    for _ in range(4):  # undo swirls
        cy, cx = rng.uniform(0.15, 0.85, 2)
        rad, strength = rng.uniform(0.12, 0.28), rng.uniform(2.0, 4.5) * rng.choice([-1, 1])
        dy, dx = v - cy, u - cx
        ang = -strength * np.exp(-(np.hypot(dy, dx) / rad) ** 2)
        ca, sa = np.cos(ang), np.sin(ang)
        u, v = cx + dx * ca - dy * sa, cy + dx * sa + dy * ca
    u = u + 0.05 * (pn.value_noise(rng, size, cells=3, octaves=2) - 0.5)
    v = v + 0.05 * (pn.value_noise(rng, size, cells=3, octaves=2) - 0.5)
    v = v - 0.035 * np.sin(2 * np.pi * 7 * u + rng.uniform(0, 2 * np.pi))  # comb
    v = v - 0.06 * np.sin(2 * np.pi * 1.5 * u + rng.uniform(0, 2 * np.pi))  # wave
    palette = np.array([(20, 40, 75), (20, 115, 125), (215, 170, 60), (125, 30, 50), (236, 226, 200),
                        (190, 95, 50), (60, 130, 90)], dtype=np.float64)
    bands = v * 16 + 0.5 * (pn.value_noise(rng, size, cells=5) - 0.5)
    lo = int(np.floor(bands.min()))
    i = np.floor(bands).astype(np.int64) - lo
    table = palette[rng.integers(0, len(palette), int(i.max()) + 2)]
    f = bands - np.floor(bands)
    blend = np.clip((f - 0.9) / 0.1, 0, 1)[..., None]
    img = table[i] * (1 - blend) + table[i + 1] * blend
    # Drops of paint, deformed by the same warps, with dark rims.
    for _ in range(14):
        dy, dx, dr = rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95), rng.uniform(0.03, 0.08)
        d = np.hypot(u - dx, v - dy) / dr
        colour = palette[rng.integers(0, len(palette))]
        img = np.where((d < 1)[..., None], colour * (0.85 + 0.25 * d)[..., None], img)
        img *= (1 - 0.6 * np.exp(-(((d - 1) / 0.08) ** 2)))[..., None]
    veins = np.exp(-((f / 0.035) ** 2)) + np.exp(-(((1 - f) / 0.02) ** 2))
    img *= (1 - 0.45 * np.clip(veins, 0, 1))[..., None]
    img *= pn.grain(rng, size, 0.1)
    return pn.to_uint8(img)


_GENERATORS: dict[str, Callable[[int, np.random.Generator], Array]] = {
    "brush_strokes": make_brush_strokes,
    "stained_glass": make_stained_glass,
    "waves": make_waves,
    "pointillism": make_pointillism,
    "cubist": make_cubist,
    "mondrian": make_mondrian,
    "hatching": make_hatching,
    "marbling": make_marbling,
}


#: Names of the procedural styles (each a ``make_<name>`` function here).
STYLE_NAMES: tuple[str, ...] = tuple(_GENERATORS)


def make_style(name: str, *, size: int = STYLE_SIZE, seed: int = 0) -> Array:
    """Paint the procedural style image ``name``.

    Args:
        name: one of :data:`STYLE_NAMES`.
        size: side of the square image in pixels, at least :data:`MIN_STYLE_SIZE`.
        seed: seed of the ``np.random.default_rng`` that drives the generator.

    Returns:
        ``[size, size, 3]`` uint8, identical for identical ``(name, size, seed)``.

    Raises:
        ValueError: for an unknown name or a size below :data:`MIN_STYLE_SIZE`.
    """
    if name not in _GENERATORS:
        raise ValueError(f"unknown style {name!r}; valid names: {', '.join(STYLE_NAMES)}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < MIN_STYLE_SIZE:
        raise ValueError(f"size must be an integer >= {MIN_STYLE_SIZE}, got {size!r}")
    out = _GENERATORS[name](int(size), np.random.default_rng(seed))
    assert out.shape == (size, size, 3) and out.dtype == np.uint8, (name, out.shape, out.dtype)
    return out
