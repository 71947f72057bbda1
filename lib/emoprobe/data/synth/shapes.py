"""Drawing primitives of the face renderer: anti-aliased coverage of analytic regions in face units, and the
crops (sub-rectangles of the canvas) that per-frame parts are repainted in, and the head outline and skin shared
by the static and the moving layers (emoprobe.data.synth.face)."""

from __future__ import annotations

import numpy as np

_F = np.float32


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
