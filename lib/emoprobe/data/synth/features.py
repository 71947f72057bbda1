"""The parts of a face that action units move, repainted every frame: brows and eyes (AU1, 2, 4, 5, 6, 7, 9,
45), the nose (AU9, 10) and the mouth and chin (AU10-27), drawn for all frames of a chunk at once
(emoprobe.data.synth.face)."""

from __future__ import annotations

import numpy as np

from .aus import AU_INDEX
from .shapes import _F, _cov, _band, _paint, _vis, _ellipse_d, _segment_d, _head_d, _skin


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
