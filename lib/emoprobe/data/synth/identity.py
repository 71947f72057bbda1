"""Who is on screen: the per-clip identity (face shape, skin, hair, eye spacing, background), as plain data.

Identities are drawn from a seed, so the same `identity_seed` always gives the same person, and a dataset
can give train and test clips disjoint identities simply by giving them different seeds.
"""

from __future__ import annotations

import numpy as np

# Skin tones from light to dark (RGB 0..1). Drawn uniformly, then jittered a little.
SKIN_TONES = ((0.98, 0.86, 0.76), (0.94, 0.78, 0.66), (0.87, 0.69, 0.55), (0.78, 0.58, 0.43),
              (0.66, 0.47, 0.33), (0.55, 0.38, 0.26), (0.45, 0.30, 0.21), (0.36, 0.24, 0.17))
HAIR_COLOURS = ((0.10, 0.08, 0.07), (0.25, 0.16, 0.09), (0.45, 0.30, 0.16), (0.70, 0.55, 0.30),
                (0.55, 0.20, 0.08), (0.60, 0.60, 0.62), (0.15, 0.15, 0.18))
HAIR_STYLES = ("short", "long", "bald", "curly", "bun", "fringe")
BACKGROUNDS = ("flat", "gradient", "blobs", "stripes", "bokeh")
IRIS_COLOURS = ((0.25, 0.15, 0.08), (0.35, 0.22, 0.10), (0.20, 0.35, 0.55), (0.25, 0.40, 0.25),
                (0.10, 0.08, 0.06))


def sample_identity(seed) -> dict:
    """A random identity from an int seed (or a numpy Generator). Every value is a plain float/str/list."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    skin = np.asarray(SKIN_TONES[rng.integers(len(SKIN_TONES))]) * rng.uniform(0.95, 1.04, 3)
    hair = np.asarray(HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))]) * rng.uniform(0.85, 1.15, 3)
    # Brows must stay clearly darker than the skin whatever the hair colour, or the brow AUs vanish.
    brow = np.minimum(hair, skin * 0.42)
    hue = rng.random(3)
    return {
        "seed": int(seed) if not isinstance(seed, np.random.Generator) else None,
        "face_width": float(rng.uniform(0.9, 1.1)),  # head half-width in face units
        "face_height": float(rng.uniform(1.22, 1.38)),
        "jaw": float(rng.uniform(0.0, 0.28)),  # narrowing of the lower face
        "scale": float(rng.uniform(0.93, 1.05)),  # face size relative to the frame
        "offset": [float(rng.uniform(-0.02, 0.02)), float(rng.uniform(-0.02, 0.02))],
        "eye_spacing": float(rng.uniform(0.92, 1.08)),
        "eye_size": float(rng.uniform(0.92, 1.08)),
        "brow_height": float(rng.uniform(-0.03, 0.03)),
        "brow_thickness": float(rng.uniform(0.85, 1.25)),
        "mouth_width": float(rng.uniform(0.9, 1.1)),
        "lip_fullness": float(rng.uniform(0.8, 1.25)),
        "skin": np.clip(skin, 0, 1).round(4).tolist(),
        "hair": np.clip(hair, 0, 1).round(4).tolist(),
        "brow": np.clip(brow, 0, 1).round(4).tolist(),
        "iris": list(IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))]),
        "hair_style": HAIR_STYLES[rng.integers(len(HAIR_STYLES))],
        "clothing": np.round(rng.uniform(0.1, 0.9, 3), 4).tolist(),
        "background": BACKGROUNDS[rng.integers(len(BACKGROUNDS))],
        "background_colours": [np.round(0.15 + 0.7 * hue, 4).tolist(),
                               np.round(rng.uniform(0.1, 0.9, 3), 4).tolist()],
        "background_seed": int(rng.integers(2**31)),
    }
