"""Render cartoon faces whose geometry follows FACS action-unit intensities, fast, with numpy only.

How it is drawn, and why:
- Every shape is an analytic region in *face units* (the head half-width is about 1; y points down; the
  eyes sit near y=-0.1, the mouth near y=0.62). A pixel's coverage is `clip(0.5 - distance_in_pixels, 0, 1)`,
  which anti-aliases edges at any output size without supersampling.
- What does not move within a clip (background, head, ears, neck, hair, nose) is drawn once per clip
  (`prepare`). Per frame only the crops that AUs change (brows and eyes, nose, mouth and chin) are repainted,
  for all frames of a chunk at once (arrays of shape frames x h x w), so the Python overhead does not grow
  with the clip length.
- The face layer is drawn on a padded canvas with premultiplied alpha. Head jitter shifts that layer with
  bilinear interpolation before it is laid over the background, so the head moves while the background does
  not. Lighting (a gain and a side gradient) and pixel noise are applied last, on the composite.
- AU effects are deliberately large (a full smile lifts the corners by about 5 % of the face height): the
  probe's tiny models see 56-112 px frames, and trainings measured here show they learn large, clear
  geometry changes but not subtle ones.
"""

from __future__ import annotations

import numpy as np

from .aus import AU_INDEX, AU_NAMES

DEFAULT_SIZE = 112
CHUNK = 48  # frames rendered together; bounds memory for long clips (DFEW has clips of 800+ frames)
_F = np.float32


# --------------------------------------------------------------------------------------------- helpers


def _cov(d, px):
    """Coverage of a region from a signed distance `d` (face units, negative inside)."""
    return np.clip(0.5 - d * px, 0.0, 1.0)


def _band(v, top, bot, px):
    """Coverage of the vertical band top < v < bot (both may vary across x)."""
    return np.clip(0.5 + (v - top) * px, 0.0, 1.0) * np.clip(0.5 + (bot - v) * px, 0.0, 1.0)


def _paint(rgb, cov, colour):
    """Paint `colour` (RGB 0..1) over `rgb` (0..255) in place with coverage `cov` (premultiplied 'over')."""
    cov = cov[..., None]
    rgb += cov * (np.asarray(colour, dtype=_F) * _F(255.0) - rgb)


def _vis(w, threshold=0.1):
    """Opacity of a wrinkle-like cue: invisible below a trace intensity, so idle drift draws nothing."""
    return np.clip((w - threshold) / (1.0 - threshold), 0.0, 1.0)


def _ellipse_d(u, v, cx, cy, rx, ry):
    """Approximate signed distance (face units) to an axis-aligned ellipse: implicit value over gradient."""
    x, y = (u - cx) / rx, (v - cy) / ry
    g = np.sqrt(x * x + y * y) + 1e-6
    grad = np.sqrt((x / rx) ** 2 + (y / ry) ** 2) / g + 1e-6
    return (g - 1.0) / grad


def _segment_d(u, v, ax, ay, bx, by):
    """Distance to the segment a-b (arguments broadcast)."""
    px, py = u - ax, v - ay
    dx, dy = bx - ax, by - ay
    h = np.clip((px * dx + py * dy) / (dx * dx + dy * dy + 1e-9), 0.0, 1.0)
    return np.sqrt((px - h * dx) ** 2 + (py - h * dy) ** 2)


class _Crop:
    """A rectangle of the canvas in face units: its pixel slice and the (u, v) of its pixel centres."""

    def __init__(self, geom, u0, u1, v0, v1):
        cx, cy, s, m = geom["cx"], geom["cy"], geom["s"], geom["canvas"]
        self.x0, self.x1 = max(0, int(np.floor(cx + u0 * s))), min(m, int(np.ceil(cx + u1 * s)))
        self.y0, self.y1 = max(0, int(np.floor(cy + v0 * s))), min(m, int(np.ceil(cy + v1 * s)))
        self.u = ((np.arange(self.x0, self.x1, dtype=_F) + 0.5 - cx) / s)[None, None, :]
        self.v = ((np.arange(self.y0, self.y1, dtype=_F) + 0.5 - cy) / s)[None, :, None]

    def view(self, canvas):
        return canvas[:, self.y0:self.y1, self.x0:self.x1]


# --------------------------------------------------------------------------------------------- static layers


def _head_d(u, v, ident, chin_drop=0.0):
    a, b, jaw = ident["face_width"], ident["face_height"], ident["jaw"]
    lower = v > 0
    bb = np.where(lower, b + chin_drop, b)
    # the lower face narrows towards the chin (jaw), which makes faces differ in shape, not only size
    aa = a * (1.0 - jaw * np.clip(v / bb, 0.0, 1.0) ** 2 * lower)
    return _ellipse_d(u, v, 0.0, 0.0, aa, bb)


def _skin(u, v, ident):
    # soft shading: a little darker towards the face's edge, so the head does not look like a flat disc
    r2 = (u / ident["face_width"]) ** 2 + (v / ident["face_height"]) ** 2
    shade = 1.0 - 0.12 * np.clip(r2, 0.0, 1.2)
    return np.asarray(ident["skin"], dtype=_F) * shade[..., None]


def _background(ident, n):
    rng = np.random.default_rng(ident["background_seed"])
    c1, c2 = (np.asarray(c, dtype=_F) for c in ident["background_colours"])
    y, x = np.mgrid[0:n, 0:n].astype(_F) / n
    kind = ident["background"]
    if kind == "flat":
        t = np.zeros((n, n), _F)
    elif kind == "gradient":
        ang = rng.uniform(0, 2 * np.pi)
        t = np.clip(0.5 + (np.cos(ang) * (x - 0.5) + np.sin(ang) * (y - 0.5)), 0, 1)
    elif kind == "blobs":
        from PIL import Image

        g = (rng.random((5, 5)) * 255).astype(np.uint8)
        t = np.asarray(Image.fromarray(g).resize((n, n), Image.BICUBIC), dtype=_F) / 255.0
    elif kind == "stripes":
        ang, freq = rng.uniform(0, np.pi), rng.uniform(3, 8)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (np.cos(ang) * x + np.sin(ang) * y))
    elif kind == "bokeh":
        t = np.zeros((n, n), _F)
        for _ in range(8):
            cx, cy, r = rng.random(), rng.random(), rng.uniform(0.04, 0.15)
            d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r
            t = np.maximum(t, np.clip(0.5 - d * n / 2, 0, 1) * rng.uniform(0.3, 0.8))
    else:
        raise ValueError(f"unknown background {kind!r}")
    return (c1 * (1 - t[..., None]) + c2 * t[..., None]).astype(_F)


def _hair_cap_d(u, v, ident, style):
    a, b = ident["face_width"], ident["face_height"]
    grow = 1.15 if style == "curly" else 1.06
    d = _ellipse_d(u, v, 0.0, -0.03, a * grow, b * 1.04)
    if style == "curly":
        ang = np.arctan2(v, u)
        d = d - 0.05 * np.sin(11 * ang)
    hairline = (-0.74 + 0.06 * u * u) if style == "fringe" else (-0.88 + 0.42 * u * u)
    return np.maximum(d, v - hairline)  # inside the enlarged head and above the hairline


def geometry(ident, size) -> dict:
    """Where the face sits on the padded canvas (pixels): centre, pixels per face unit, padding."""
    pad = int(np.ceil(0.05 * size)) + 2
    s = 0.32 * size * ident["scale"]
    return {"size": size, "pad": pad, "canvas": size + 2 * pad, "s": s,
            "cx": pad + size * (0.5 + ident["offset"][0]), "cy": pad + size * (0.49 + ident["offset"][1])}


# Regions (face units: u0, u1, v0, v1) that contain each animated feature at any AU intensity. Painting
# only these small crops, not the whole face, is most of the renderer's speed.
CROPS = {
    "forehead": (-0.38, 0.38, -0.86, -0.6),
    "glabella": (-0.1, 0.1, -0.46, -0.26),
    "brows": (-0.76, 0.76, -0.72, -0.22),
    "eyes": (-0.62, 0.62, -0.3, 0.06),
    "cheeks": (-0.8, 0.8, -0.06, 0.32),
    "nose": (-0.2, 0.2, -0.1, 0.4),
    "folds": (-0.82, 0.82, 0.28, 0.78),
    "lips": (-0.74, 0.74, 0.28, 1.06),
}


def prepare(ident, size=DEFAULT_SIZE) -> dict:
    """Precompute everything that stays fixed within a clip: background, face layer (premultiplied RGB on a
    0..255 scale, and alpha), geometry and the feature crops. Reuse it for every frame of the clip."""
    g = geometry(ident, size)
    m, s = g["canvas"], g["s"]
    px = s
    full = _Crop(g, -10, 10, -10, 10)
    u, v = full.u[0], full.v[0]
    rgb = np.zeros((m, m, 3), _F)
    alpha = np.zeros((m, m), _F)

    def over(cov, colour):
        _paint(rgb, cov, colour)
        alpha[...] = alpha + cov * (1 - alpha)

    style = ident["hair_style"]
    hair = np.asarray(ident["hair"], _F)
    if style == "long":
        over(_cov(np.maximum(_ellipse_d(u, v, 0, 0.25, ident["face_width"] * 1.28, ident["face_height"] * 1.15),
                             v - 1.3), px), hair * 0.9)
    skin = np.asarray(ident["skin"], _F)
    # shoulders / clothing, then the neck
    over(_cov(_ellipse_d(u, v, 0, 2.45, 1.7, 1.0), px), ident["clothing"])
    neck = np.maximum(np.abs(u) - 0.42, 0.75 - v)
    over(_cov(np.maximum(neck, v - 1.75), px), skin * 0.82)
    for side in (-1, 1):
        over(_cov(_ellipse_d(u, v, side * ident["face_width"] * 0.97, -0.05, 0.15, 0.23), px), skin * 0.88)
    head = _cov(_head_d(u, v, ident), px)
    rgb *= (1 - head)[..., None]
    rgb += head[..., None] * _skin(u, v, ident) * 255.0
    alpha[...] = alpha + head * (1 - alpha)
    if style != "bald":
        over(_cov(_hair_cap_d(u, v, ident, style), px), hair)
        if style == "bun":
            over(_cov(_ellipse_d(u, v, 0, -ident["face_height"] - 0.12, 0.32, 0.26), px), hair)
    # static nose: a soft shadow along the bridge and under the tip
    over(_cov(_segment_d(u, v, 0.05, -0.05, 0.08, 0.26) - 0.012, px) * 0.35, skin * 0.6)
    over(_cov(_ellipse_d(u, v, 0, 0.32, 0.12, 0.055), px) * 0.25, skin * 0.7)

    crops = {name: _Crop(g, *box) for name, box in CROPS.items()}
    crops["chin"] = _Crop(g, -0.95, 0.95, 0.8, ident["face_height"] + 0.35)
    return {"geom": g, "rgb": rgb, "alpha": alpha, "background": _background(ident, size) * 255.0,
            "crops": crops, "ident": ident, "size": size}


# --------------------------------------------------------------------------------------------- dynamic parts


def _a(aus, name):
    return aus[:, AU_INDEX[name], None, None]  # (T, 1, 1), broadcasts over a crop


def _draw_upper(rgb, crops, aus, ident, px):
    skin = np.asarray(ident["skin"], _F)
    line = skin * 0.55
    au1, au2, au4, au5, au6, au7, au9, au45 = (_a(aus, n) for n in ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7",
                                                                    "AU9", "AU45"))

    # forehead lines (AU1/AU2) and the vertical lines between the brows (AU4)
    fl = _vis(np.maximum(au1, 0.6 * au2))
    if fl.max() > 0:
        cr = crops["forehead"]
        c, ua, v = cr.view(rgb), np.abs(cr.u), cr.v
        for y0 in (-0.69, -0.77):
            d = np.maximum(np.abs(v - y0 - 0.02 * ua * ua) - 0.012, ua - 0.32)
            _paint(c, _cov(d, px) * (0.8 * fl), line)
    w4 = _vis(au4)
    if w4.max() > 0:
        cr = crops["glabella"]
        d = np.maximum(np.abs(np.abs(cr.u) - 0.055) - 0.011, np.abs(cr.v + 0.36) - 0.08)
        _paint(cr.view(rgb), _cov(d, px) * (0.9 * w4), line)

    # brows: a thick curve from the inner to the outer end (brows and eyes are symmetric: |u|)
    ex = 0.36 * ident["eye_spacing"]
    cr = crops["brows"]
    c, ua, v = cr.view(rgb), np.abs(cr.u), cr.v
    yb = -0.42 + ident["brow_height"]
    xi = ex - 0.22 - 0.06 * au4
    xo = ex + 0.22
    yi = yb - 0.22 * au1 + 0.13 * au4 + 0.06 * au9 - 0.04 * au2
    yo = yb - 0.20 * au2 + 0.05 * au4 - 0.02 * au1 + 0.03 * au9
    arch = 0.045 + 0.05 * au2 - 0.03 * au1
    t = np.clip((ua - xi) / (xo - xi), 0.0, 1.0)
    yc = (1 - t) * yi + t * yo - 4 * arch * t * (1 - t)
    slope = ((yo - yi) + (-4 * arch) * (1 - 2 * t)) / (xo - xi)
    half = 0.036 * ident["brow_thickness"] * (1.0 - 0.45 * t)
    d = np.maximum(np.abs(v - yc) / np.sqrt(1 + slope * slope) - half, np.maximum(xi - ua, ua - xo))
    _paint(c, _cov(d, px), ident["brow"])

    # eyes: an almond aperture between the upper and lower lids
    cr = crops["eyes"]
    c, ua, v = cr.view(rgb), np.abs(cr.u), cr.v
    ey, ew = -0.10, 0.165 * ident["eye_size"]
    open_ = 1.0 - np.clip(au45, 0.0, 1.0)
    h_up = 0.085 * ident["eye_size"] * np.clip(1 + 1.05 * au5 - 0.35 * au7 - 0.3 * au6 - 0.3 * au4 - 0.2 * au9,
                                               0.05, None) * open_
    h_lo = 0.062 * ident["eye_size"] * np.clip(1 - 0.6 * au7 - 0.65 * au6 + 0.25 * au5 - 0.2 * au9, 0.05, None) * open_
    s = (ua - ex) / ew
    w = np.clip(1 - s * s, 0.0, 1.0) ** 0.7
    top, bot = ey - h_up * w, ey + h_lo * w
    inside_x = np.clip(0.5 + (1 - np.abs(s)) * ew * px, 0, 1)
    aperture = _band(v, top, bot, px) * inside_x
    _paint(c, aperture, (0.96, 0.96, 0.94))
    r = np.sqrt((ua - ex) ** 2 + (v - ey) ** 2)
    _paint(c, _cov(r - 0.072 * ident["eye_size"], px) * aperture, ident["iris"])
    _paint(c, _cov(r - 0.03 * ident["eye_size"], px) * aperture, (0.02, 0.02, 0.02))
    # upper lid line (always visible: it is the closed eye during a blink), lower lid line (stronger with AU7)
    lid = np.maximum(np.abs(v - top + 0.008) - 0.018, np.abs(s) * ew - ew - 0.02)
    _paint(c, _cov(lid, px), (0.08, 0.06, 0.05))
    low = np.maximum(np.abs(v - bot) - 0.008, np.abs(s) * ew - ew)
    _paint(c, _cov(low, px) * (0.35 + 0.5 * au7), line)

    # AU6: cheeks rise; a crease under each eye and a flush on the cheek
    w6 = _vis(au6)
    if w6.max() > 0:
        cr = crops["cheeks"]
        c, ua, v = cr.view(rgb), np.abs(cr.u), cr.v
        s = (ua - ex) / ew
        yk = ey + 0.13 - 0.05 * au6
        crease = np.maximum(np.abs(v - yk - 0.5 * (s * ew) ** 2) - 0.011, np.abs(s) - 0.95)
        _paint(c, _cov(crease, px) * (0.85 * w6), line)
        blush = _cov(_ellipse_d(ua, v, ex + 0.05, 0.2 - 0.08 * au6, 0.17, 0.09), px)
        _paint(c, blush * (0.35 * w6), skin * np.array([1.0, 0.72, 0.72], _F))


def _draw_nose(rgb, crops, aus, ident, px):
    cr = crops["nose"]
    c, ua, v = cr.view(rgb), np.abs(cr.u), cr.v
    au9, au10 = _a(aus, "AU9"), _a(aus, "AU10")
    skin = np.asarray(ident["skin"], _F)
    w9 = _vis(au9)
    if w9.max() > 0:
        for y0 in (-0.02, 0.05, 0.12):  # wrinkles across the bridge
            d = np.maximum(np.abs(v - y0 + 0.1 * ua * ua) - 0.011, ua - 0.11)
            _paint(c, _cov(d, px) * (0.9 * w9), skin * 0.5)
    lift = 0.05 * au9 + 0.025 * au10
    nostril = _ellipse_d(ua, v, 0.075 + 0.02 * au9, 0.34 - lift, 0.042 + 0.012 * au9, 0.024)
    _paint(c, _cov(nostril, px), skin * 0.35)


def _draw_mouth(rgb, alpha, crops, aus, ident, px):
    skin = np.asarray(ident["skin"], _F)
    au = {n: _a(aus, n) for n in ("AU6", "AU9", "AU10", "AU12", "AU14", "AU15", "AU16", "AU17", "AU20", "AU23",
                                  "AU24", "AU25", "AU26")}

    # jaw drop lowers the chin: paint the ring the longer lower half of the head adds
    drop = 0.2 * au["AU26"]
    if drop.max() > 0.004:
        cr = crops["chin"]
        cov = _cov(_head_d(cr.u, cr.v, ident, chin_drop=drop), px)
        cov = np.maximum(cov - _cov(_head_d(cr.u, cr.v, ident), px), 0.0)
        c = cr.view(rgb)
        c *= (1 - cov)[..., None]
        c += cov[..., None] * (_skin(cr.u, cr.v, ident) * 255.0)
        a = cr.view(alpha)
        a += cov * (1 - a)

    ym = 0.62
    hw0 = 0.33 * ident["mouth_width"]
    stretch = 1 + 0.3 * au["AU12"] + 0.5 * au["AU20"] - 0.3 * au["AU23"] - 0.15 * au["AU24"] - 0.1 * au["AU26"] \
        + 0.05 * au["AU15"]
    base = ym - 0.16 * au["AU12"] + 0.15 * au["AU15"] + 0.05 * au["AU20"] + 0.03 * au["AU16"]
    # AU14 acts on the face's right side (the viewer's left is u < 0; here the u > 0 side): corner up and in
    hw_r, hw_l = hw0 * stretch - 0.05 * au["AU14"], hw0 * stretch
    corner_r, corner_l = base - 0.18 * au["AU14"], base
    mid_corner = 0.5 * (corner_r + corner_l)
    fold = np.clip(0.8 * au["AU10"] + 0.6 * au["AU12"] + 0.5 * au["AU9"] + 0.2 * au["AU6"], 0, 0.85)
    fold_r = np.clip(fold + 0.6 * au["AU14"], 0, 0.85)

    # folds from the nose wings to the mouth corners (AU10, AU12, AU9, AU6; AU14 on its side)
    if np.maximum(_vis(fold), _vis(fold_r)).max() > 0:
        cr = crops["folds"]
        right = cr.u > 0
        hw, corner = np.where(right, hw_r, hw_l), np.where(right, corner_r, corner_l)
        d = _segment_d(np.abs(cr.u), cr.v, 0.2, 0.33, hw + 0.07, corner + 0.02) - 0.013
        _paint(cr.view(rgb), _cov(d, px) * _vis(np.where(right, fold_r, fold)), skin * 0.55)

    cr = crops["lips"]
    c, u, v = cr.view(rgb), cr.u, cr.v
    right = u > 0
    hw, corner = np.where(right, hw_r, hw_l), np.where(right, corner_r, corner_l)
    mid = ym - 0.05 * au["AU17"] - 0.015 * au["AU10"]
    s = u / hw
    sa = np.abs(s)
    # line between the lips: linear from the centre to each corner, plus a parabolic bend
    lip_line = mid_corner + (corner - mid_corner) * np.clip(sa, 0, 1) + (mid - mid_corner) * np.clip(1 - s * s, 0, 1)
    open_ = np.clip(0.05 * au["AU25"] + 0.32 * au["AU26"] + 0.05 * au["AU16"] * au["AU25"] - 0.1 * au["AU24"], 0, None)
    up = 0.28 * open_ + 0.07 * au["AU10"]
    dn = 0.72 * open_ + 0.04 * au["AU16"]
    k = 2.0 + 6.0 * au["AU20"]  # the stretched fear mouth is rectangular
    wo = np.clip(1 - sa ** k, 0, 1) ** 0.5
    wl = np.clip(1 - s * s, 0, 1) ** 0.5
    ot, ob = lip_line - up * wo, lip_line + dn * wo
    full = ident["lip_fullness"]
    thin = np.clip(1 - 0.6 * au["AU23"] - 0.75 * au["AU24"] - 0.3 * au["AU20"] - 0.25 * au["AU12"], 0.15, None)
    tu = 0.06 * full * thin
    tl = 0.075 * full * np.clip(thin + 0.35 * au["AU17"], 0.15, None)
    inside_x = np.clip(0.5 + (1 - sa) * hw * px, 0, 1)

    # lips: the skin darkened towards red, pulled towards a fixed lip colour so dark skin keeps contrast
    lip = 0.6 * skin * np.array([0.85, 0.55, 0.55], _F) + 0.4 * np.array([0.62, 0.3, 0.32], _F)
    _paint(c, _band(v, ot - tu * wl, ot, px) * inside_x, lip)
    _paint(c, _band(v, ob, ob + tl * wl, px) * inside_x, lip * 1.08)
    # the line between the lips darkens and thickens when they are pressed or tightened
    press = np.clip(au["AU24"] + 0.6 * au["AU23"], 0, 1)
    _paint(c, _cov(np.abs(v - lip_line) - (0.011 + 0.012 * press), px) * inside_x, skin * (0.3 - 0.15 * press)[..., None])
    if (up + dn).max() > 0.004:
        cavity = _band(v, ot, ob, px) * inside_x
        _paint(c, cavity, (0.18, 0.05, 0.06))
        teeth_h = np.minimum(0.055, 0.6 * (ob - ot))
        _paint(c, _band(v, ot, ot + teeth_h * wo, px) * cavity, (0.93, 0.92, 0.86))
        low_teeth = 0.035 * np.clip(au["AU16"] + au["AU20"], 0, 1)
        if low_teeth.max() > 0.004:
            low_teeth = np.minimum(low_teeth, 0.4 * (ob - ot))
            _paint(c, _band(v, ob - low_teeth * wo, ob, px) * cavity, (0.88, 0.87, 0.8))

    # AU14 dimple beside the tightened corner; AU17 chin-boss wrinkle under the lower lip
    w14 = _vis(au["AU14"])
    if w14.max() > 0:
        dimple = _ellipse_d(u, v, hw_r + 0.05, corner_r, 0.02, 0.045)
        _paint(c, _cov(dimple, px) * (0.9 * w14) * right, skin * 0.45)
    w17 = _vis(au["AU17"])
    if w17.max() > 0:
        d = np.maximum(np.abs(v - (ob + tl + 0.09) + 0.3 * u * u) - 0.012, np.abs(u) - 0.15)
        _paint(c, _cov(d, px) * (0.8 * w17), skin * 0.55)


# --------------------------------------------------------------------------------------------- frames

_NOISE_BANKS: dict = {}


def _noise_bank(size):
    """Gaussian noise slabs larger than a frame; each frame adds a random window of one (much cheaper than
    drawing fresh normals for every pixel, and just as deterministic)."""
    bank = _NOISE_BANKS.get(size)
    if bank is None:
        bank = np.random.default_rng(20260415).standard_normal((6, size + 48, size + 48, 3), dtype=_F)
        _NOISE_BANKS[size] = bank
    return bank


def render(aus, ident, size=DEFAULT_SIZE, shift=None, gain=None, side_light=None, noise=0.0, noise_seed=0,
           static=None) -> np.ndarray:
    """Render one frame per row of `aus` and return (T, size, size, 3) uint8 RGB.

    Parameters
    ----------
    aus : array (T, len(AU_NAMES)) of intensities 0..1 (column order `aus.AU_NAMES`).
    ident : dict from `identity.sample_identity`.
    shift : array (T, 2) of head offsets (dx, dy) in pixels, or None. Sub-pixel values are interpolated;
        offsets are limited to the canvas padding (about 5 % of the frame).
    gain : array (T,) multiplying brightness (lighting), or None.
    side_light : array (T,) strength of a left-right brightness gradient, or None.
    noise : standard deviation of Gaussian pixel noise (0..255 scale).
    noise_seed : seed (int or list of ints) choosing the noise windows.
    static : the result of `prepare(ident, size)` to reuse across calls (computed if None).
    """
    aus = np.asarray(aus, dtype=_F)
    if aus.ndim != 2 or aus.shape[1] != len(AU_NAMES):
        raise ValueError(f"aus: expected shape (frames, {len(AU_NAMES)}) in the order {AU_NAMES}, got {aus.shape}")
    static = prepare(ident, size) if static is None else static
    if static["size"] != size:
        raise ValueError(f"static layers were prepared for size {static['size']}, not {size}")
    n_frames = len(aus)
    out = np.empty((n_frames, size, size, 3), np.uint8)
    rng = np.random.default_rng(noise_seed)

    def part(x, a, b):
        return None if x is None else np.asarray(x, _F)[a:b]

    for a in range(0, n_frames, CHUNK):
        b = min(n_frames, a + CHUNK)
        out[a:b] = _render_chunk(aus[a:b], static, part(shift, a, b), part(gain, a, b), part(side_light, a, b),
                                 noise, rng)
    return out


def _render_chunk(aus, static, shift, gain, side_light, noise, rng):
    g, ident = static["geom"], static["ident"]
    n, pad, px = g["size"], g["pad"], g["s"]
    t = len(aus)
    aus = np.clip(aus, 0.0, 1.0)
    rgb = np.repeat(static["rgb"][None], t, axis=0)
    alpha = np.repeat(static["alpha"][None], t, axis=0)
    crops = static["crops"]
    _draw_upper(rgb, crops, aus, ident, px)
    _draw_nose(rgb, crops, aus, ident, px)
    _draw_mouth(rgb, alpha, crops, aus, ident, px)

    bg = static["background"]
    img = np.empty((t, n, n, 3), _F)
    sh = None if shift is None else np.clip(shift, -(pad - 1.001), pad - 1.001)
    bank = _noise_bank(n) if noise > 0 else None
    if bank is not None:
        picks = rng.integers(0, [len(bank), bank.shape[1] - n, bank.shape[2] - n], size=(t, 3))
    for i in range(t):
        # head jitter: shift the face layer (bilinear), then lay it over the static background
        if sh is None:
            f_rgb, f_a = rgb[i, pad:pad + n, pad:pad + n], alpha[i, pad:pad + n, pad:pad + n]
        else:
            oy, ox = pad - sh[i, 1], pad - sh[i, 0]
            y0, x0 = int(np.floor(oy)), int(np.floor(ox))
            fy, fx = _F(oy - y0), _F(ox - x0)
            r = rgb[i, y0:y0 + n + 1, x0:x0 + n + 1]
            a = alpha[i, y0:y0 + n + 1, x0:x0 + n + 1]
            r = r[:-1] + fy * (r[1:] - r[:-1])
            f_rgb = r[:, :-1] + fx * (r[:, 1:] - r[:, :-1])
            a = a[:-1] + fy * (a[1:] - a[:-1])
            f_a = a[:, :-1] + fx * (a[:, 1:] - a[:, :-1])
        np.multiply(bg, (1.0 - f_a)[..., None], out=img[i])
        img[i] += f_rgb
        if bank is not None:
            k, oy, ox = picks[i]
            img[i] += bank[k, oy:oy + n, ox:ox + n] * _F(noise)
    if gain is not None or side_light is not None:
        scale = np.ones((t, 1, 1, 1), _F) if gain is None else gain[:, None, None, None]
        if side_light is not None:
            ramp = np.linspace(-1, 1, n, dtype=_F)[None, None, :, None]
            scale = scale * (1.0 + 0.25 * side_light[:, None, None, None] * ramp)
        img *= scale
    np.clip(img, 0, 255, out=img)
    img += 0.5
    return img.astype(np.uint8)
