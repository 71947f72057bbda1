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

from .aus import AU_NAMES
from .features import _draw_upper, _draw_nose, _draw_mouth
from .shapes import _F, _cov, _paint, _ellipse_d, _segment_d, _Crop, _head_d, _skin

DEFAULT_SIZE = 112
CHUNK = 48  # frames rendered together; bounds memory for long clips (DFEW has clips of 800+ frames)


# --------------------------------------------------------------------------------------------- static layers


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
