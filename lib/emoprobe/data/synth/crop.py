"""The face crop of a rendered probe frame: DFEW, MAFW and FERV39k ship face-cropped clips, so the probe does too.

The box is a fraction of the frame side, read off the generator's gallery; why the probe crops at all is in
the probe-models chapter ("How the recipe was chosen"). Training pools and the test sets written to disk both
pass through ``face_crop``, so no model sees a crop it was not trained on.
"""

from __future__ import annotations

import numpy as np

FACE_BOX = (0.125, 0.75, 0.1875, 0.8125)  # top, bottom, left, right
RENDER_SIZE = 90  # rendered side before the crop: a 56-px face crop is then close to 1:1


def face_crop(frames: np.ndarray, size: int, box=FACE_BOX) -> np.ndarray:
    """Crop the face box out of (T, H, W, 3) uint8 frames and resize it to size x size (antialiased bilinear)."""
    import torch
    import torch.nn.functional as F

    arr = np.asarray(frames)
    h, w = arr.shape[1:3]
    top, bottom, left, right = (int(round(box[0] * h)), int(round(box[1] * h)), int(round(box[2] * w)),
                                int(round(box[3] * w)))
    x = torch.from_numpy(np.ascontiguousarray(arr[:, top:bottom, left:right])).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
