"""Published numbers the book compares against, each with where it comes from.

Sources are public and named next to each value: counts marked *computed*
were counted from public annotation files (DFER-CLIP ``annotation/*.txt``, cross-checked against S2D's copies
of the official splits); numbers marked *as reported* are copied from the authors' project page. Nothing here
is measured by this project.
"""

from __future__ import annotations

import numpy as np

# Frames per clip of the single-label clips: min, 5th pct, 25th, median, 75th, 95th, max.
# Computed from the `num_frames` column of DFER-CLIP's annotation lists (https://github.com/zengqunzhao/DFER-CLIP,
# `annotation/`).
FRAME_COUNT_QUANTILES = {
    "dfew": {0.0: 11, 0.05: 33, 0.25: 48, 0.5: 70, 0.75: 95, 0.95: 155, 1.0: 847},
    "mafw": {0.0: 9, 0.05: 43, 0.25: 60, 0.5: 82, 0.75: 120, 0.95: 244, 1.0: 727},
    "ferv39k": {0.0: 8, 0.05: 13, 0.25: 21, 0.5: 28, 0.75: 34, 0.95: 43, 1.0: 47},
}

# None of the three datasets publishes its clips' frame rate (neither their papers nor their releases state
# it); clips come from films, TV and web video, so analyses sweep this range and say so.
ASSUMED_FPS_RANGE = (24.0, 30.0)

# Single-label clip counts per class (5-fold union for DFEW and MAFW, train+test for FERV39k), computed.
CLASS_COUNTS = {
    "dfew": {"neutral": 2669, "happy": 2445, "angry": 2173, "sad": 1894, "surprise": 1469, "fear": 902,
             "disgust": 145},
    "mafw": {"sadness": 1470, "anger": 1390, "happiness": 1242, "neutral": 1138, "surprise": 1072,
             "anxiety": 916, "disgust": 639, "fear": 625, "helplessness": 262, "contempt": 236,
             "disappointment": 182},
    "ferv39k": {"neutral": 9748, "angry": 7393, "happy": 7327, "sad": 6916, "surprise": 3140, "disgust": 2300,
                "fear": 2111},
}


def frame_count_sample(dataset: str, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Draw clip lengths (frames) that follow a dataset's published frame-count quantiles.

    Only seven quantiles are known, so the quantile function is interpolated linearly between them (in log
    space, which follows the right-skewed shape better than linear space) and sampled by inverse transform.
    A stated approximation: the book says so wherever it uses these draws.
    """
    try:
        q = FRAME_COUNT_QUANTILES[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(FRAME_COUNT_QUANTILES)}") from None
    rng = np.random.default_rng(0) if rng is None else rng
    probs = np.array(sorted(q))
    logs = np.log([q[p] for p in probs])
    u = rng.random(size)
    return np.rint(np.exp(np.interp(u, probs, logs))).astype(np.int64)


# Table 2 of the paper (frame shuffling), macro precision / recall / F1, as reported on the authors' project
# page (https://madhav1ag.github.io/vlm-temporal-emotion-gap/). Keys: model -> setting -> dataset -> (P, R, F1).
TABLE2 = {
    "MAE-DFER": {"original": {"mafw": (0.4394, 0.3919, 0.3602), "dfew": (0.6883, 0.6086, 0.5645)},
                 "shuffled": {"mafw": (0.4959, 0.3354, 0.3041), "dfew": (0.5006, 0.5229, 0.4802)}},
    "HiCMAE": {"original": {"mafw": (0.5040, 0.4404, 0.3993), "dfew": (0.6935, 0.6214, 0.5725)},
               "shuffled": {"mafw": (0.4979, 0.3778, 0.3345), "dfew": (0.4807, 0.5329, 0.4797)}},
    "Qwen2.5-VL": {"original": {"mafw": (0.2849, 0.2727, 0.2449), "dfew": (0.5053, 0.4614, 0.4552)},
                   "shuffled": {"mafw": (0.3527, 0.2727, 0.2506), "dfew": (0.5015, 0.4643, 0.4534)}},
    "Qwen2.5-Omni": {"original": {"mafw": (0.4517, 0.3253, 0.3060), "dfew": (0.5557, 0.4700, 0.4296)},
                     "shuffled": {"mafw": (0.4502, 0.3172, 0.2972), "dfew": (0.5276, 0.4614, 0.4226)}},
    "Qwen3-VL": {"original": {"mafw": (0.4180, 0.3313, 0.2738), "dfew": (0.6380, 0.5843, 0.5511)},
                 "shuffled": {"mafw": (0.3198, 0.3273, 0.2615), "dfew": (0.6468, 0.5871, 0.5538)}},
    "EmotionQwen": {"original": {"mafw": (0.3478, 0.2925, 0.2581), "dfew": (0.5521, 0.5329, 0.5010)},
                    "shuffled": {"mafw": (0.3185, 0.3057, 0.2517), "dfew": (0.5383, 0.4968, 0.4895)}},
    "Video-LLaVA": {"original": {"mafw": (0.1126, 0.1630, 0.0870), "dfew": (0.1490, 0.2800, 0.1654)},
                    "shuffled": {"mafw": (0.0811, 0.1569, 0.0814), "dfew": (0.1514, 0.2570, 0.1531)}},
    "LLaVA-NeXT-V": {"original": {"mafw": (0.1853, 0.2040, 0.1438), "dfew": (0.5351, 0.3474, 0.2969)},
                     "shuffled": {"mafw": (0.1705, 0.1980, 0.1382), "dfew": (0.4366, 0.3314, 0.2712)}},
    "InternVL-3.0": {"original": {"mafw": (0.3441, 0.2828, 0.2445), "dfew": (0.5561, 0.5357, 0.5044)},
                     "shuffled": {"mafw": (0.3370, 0.2667, 0.2326), "dfew": (0.5669, 0.5214, 0.4985)}},
    "Gemini2.5-Flash": {"original": {"mafw": (0.4112, 0.3869, 0.3758), "dfew": (0.6412, 0.6331, 0.6008)},
                        "shuffled": {"mafw": (0.4286, 0.3817, 0.3626), "dfew": (0.6246, 0.6120, 0.5778)}},
}

# Macro-F1 on MAFW against the input frame rate, *read off the authors' chart* (about ±0.002; the values are
# not printed on the figure `fps_curve.jpg` of https://madhav1ag.github.io/vlm-temporal-emotion-gap/).
FPS_CURVE_DIGITIZED = {
    "fps": (1, 5, 10, 15, 20, 25),
    "Qwen2.5-VL": (0.222, 0.277, 0.267, 0.263, 0.258, 0.244),
    "EmotionQwen": (0.242, 0.264, 0.242, 0.237, 0.237, 0.212),
}

# The paper's stated micro-expression duration range, seconds (abstract).
MICRO_EXPRESSION_SECONDS = (0.25, 0.5)

# Table 3 of the paper (multi-stage context enrichment, MSCE), Qwen2.5-VL macro-F1, as reported in the
# third-party notes on the paper's v2 (`research_notes/experiment_checklist.md` at commit 4b61a7e of the GitHub
# repository gowreesh-mago/video2reaction); the baselines equal Table 2's "original" row.
TABLE3 = {"Qwen2.5-VL": {"mafw": {"baseline": 0.2449, "msce": 0.2731},
                         "dfew": {"baseline": 0.4552, "msce": 0.4820}}}

# The teaser figure: ground truth and each model's answer to "What is the emotional state of character in
# this video?" (the teaser figure of https://madhav1ag.github.io/vlm-temporal-emotion-gap/).
TEASER_PROMPT = "What is the emotional state of character in this video?"
TEASER = [
    {"clip": "brief smile", "truth": "happiness", "Gemini2.5-Flash": "sadness", "Qwen2.5-VL": "neutral",
     "EmotionQwen": "disgust"},
    {"clip": "tensed expression", "truth": "anger", "Gemini2.5-Flash": "anxiety", "Qwen2.5-VL": "neutral",
     "EmotionQwen": "neutral"},
]

# Published vision-only DFER results, UAR / WAR in %, with the frames each model samples
# (each model's README: MAE-DFER, HiCMAE, S2D, DK-CLIP on GitHub; DFER-CLIP values read from its README figure).
VISION_ONLY_BASELINES = {
    "Former-DFER": {"dfew": (53.69, 65.70), "ferv39k": (37.20, 46.85), "mafw": (31.16, 43.27),
                    "frames": "8 segments x 2 consecutive frames, 112 px"},
    "DFER-CLIP": {"dfew": (59.61, 71.25), "ferv39k": (41.27, 51.65), "mafw": (39.89, 52.55),
                  "frames": "16 segment centres, 224 px"},
    "MAE-DFER": {"dfew": (63.41, 74.43), "ferv39k": (43.12, 52.07), "mafw": (41.62, 54.31),
                 "frames": "16 frames, stride 4, 160 px"},
    "S2D": {"dfew": (61.82, 76.03), "ferv39k": (41.28, 52.56), "mafw": (41.86, 57.37),
            "frames": "16 consecutive frames, 224 px"},
    "DK-CLIP": {"dfew": (64.95, 75.41), "ferv39k": (41.84, 52.37), "mafw": (43.01, 56.56),
                "frames": "16 frames"},
    "SVFAP-B": {"dfew": (62.83, 74.27), "ferv39k": (42.14, 52.29), "mafw": (41.19, 54.28), "frames": "-"},
}

# GPT-4V zero-shot ("GPT-4V with Emotion", 3 uniformly sampled frames), WAR / UAR in %, as reported.
GPT4V_REPORTED = {"dfew": {"war": 43.80, "uar": 36.96}, "ferv39k": {"war": 34.29, "uar": 24.92}}
# The same predictions recomputed from the published files over the answered clips (%; SOURCES["GPT4V_DFEW"]):
# how often GPT-4V answers neutral against neutral's share of the test clips is the collapse the book teaches.
GPT4V_RECOMPUTED = {"dfew": {"clips": 2341, "answered": 2337, "war": 43.69, "uar": 36.84,
                             "neutral_predicted_share": 38.5, "neutral_true_share": 22.8},
                    "ferv39k": {"clips": 7847, "answered": 7538, "war": 34.28, "uar": 24.92,
                                "neutral_predicted_share": 61.1}}

# Where each published number of this module comes from, in the words a chapter prints beside it: the
# authors' own page, a figure of theirs read off by eye, or notes by a third party.
PROJECT_PAGE = "https://madhav1ag.github.io/vlm-temporal-emotion-gap/"
SOURCES = {
    "TABLE2": f"the paper's Table 2, as printed on the authors' project page ({PROJECT_PAGE})",
    "TABLE3": "the paper's Table 3 as given in third-party notes on its v2 (research_notes/experiment_checklist.md "
              "in github.com/gowreesh-mago/video2reaction at commit 4b61a7e), not on the authors' page",
    "LEXICAL_FIGURE": "the authors' figure of per-class F1 against word frequency (lexical_correlation.jpg on "
                      f"{PROJECT_PAGE}); its y-axis has no values, so only the pattern can be compared",
    "CONFUSION_FIGURE": "the authors' description of their MAFW confusion matrices, original against balanced "
                        f"fine-tuning (MAE-DFER, HiCMAE, Qwen2.5-VL; {PROJECT_PAGE}; the image itself is not "
                        "retrievable): a \"neutral\" sink, and predictions \"markedly more uniform\" after "
                        "balanced fine-tuning",
    "GPT4V_DFEW": "recomputed by `emoprobe score` from GPT-4V with Emotion's published DFEW predictions "
                  "(results/dfew/label-gpt4v.csv and label.csv of github.com/zeroQiaoba/gpt4v-emotion at commit "
                  "e82d695; tests/test_score.py recomputes them when the files are present)",
    "FPS_CURVE_DIGITIZED": f"read off the authors' frame-rate figure (about ±0.002; {PROJECT_PAGE})",
    "MICRO_EXPRESSION_SECONDS": "the paper's abstract",
}
