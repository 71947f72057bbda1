"""Training the probe VLM: the pretraining stage (the zoo's warm-up and "web" stage) on a pre-processed pool.

``pretrain_plan`` draws the examples of every step: class ∝ word-frequency prior (emoprobe.lexicon.prior),
task ∝ ``task_weights``, micro-expression clips ramping in by the ``micro_curriculum``; ``train_probe_vlm``
runs the optimisation loop (emoprobe.probe.training.fit) on those batches. Fine-tuning on a training split is
not done here: it is emoprobe.finetune's job, the code that fine-tunes a real VLM.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoprobe.lexicon import concept
from emoprobe.probe.training import OPTIMIZER_DEFAULTS, fit, seed_everything
from emoprobe.probe.vlm.build import ProbeVLM, build, split_config
from emoprobe.probe.vlm.encode import collate

TRAIN_DEFAULTS = {
    "prior_power": 1.0,  # class draws p(c) ∝ word frequency ** prior_power (emoprobe.lexicon.prior)
    "prior_form": "all",  # lexicon form: every word naming the concept (happy, happiness, joy, glad, ...)
    "task_weights": {"plain": 0.4, "classify": 0.3, "caption": 0.2, "motion": 0.1},  # names of TASK_GROUPS
    "tasks_per_clip": {"plain": 2, "classify": 1, "caption": 1, "motion": 1},
    # micro clips' weight ramps 0 -> 1 between these fractions of the run; None: clear expressions only
    "micro_curriculum": [0.2, 0.6],
    "pool": {},  # what to render: spec parameters (see zoo), filled in by the caller
    "steps": 1200,
    "batch_size": 16,
    "num_threads": 1,  # one per process: trainings run side by side, and a fixed count keeps them bit-identical
    "deterministic": True,
    "model": {},
    **OPTIMIZER_DEFAULTS,
}


# The task names of ``task_weights`` and the example tasks they cover
TASK_GROUPS = {"plain": ("plain",), "classify": ("classify", "classify_context"), "caption": ("caption", "open"),
               "motion": ("motion",)}


def pretrain_plan(pool: dict, cfg: dict, seed: int) -> list[np.ndarray]:
    """Example indices of every step: class ∝ prior, task ∝ task_weights, micro clips by the curriculum
    (``micro_curriculum`` None: clear expressions only)."""
    from emoprobe.lexicon import prior

    rng = np.random.default_rng([int(seed), 11])
    # the prior is spread over the classes the pool has (MAFW's 11 or DFEW's 7), whatever their wording
    p = prior(sorted(set(pool["label"])), float(cfg["prior_power"]), form=cfg["prior_form"])
    lab = np.asarray([concept(x) for x in pool["label"]])
    classes = [(lab == concept(c), pc) for c, pc in p.items()]
    tasks = np.asarray(pool["task"])
    task_w = np.zeros(len(tasks))
    unknown = set(cfg["task_weights"]) - set(TASK_GROUPS)
    if unknown:
        raise ValueError(f"task_weights: unknown tasks {sorted(unknown)}; expected some of {sorted(TASK_GROUPS)}")
    for name, w in cfg["task_weights"].items():
        members = np.isin(tasks, TASK_GROUPS[name])
        if members.any():
            # each task's share is its weight, whatever the number of examples it has in the pool
            task_w[members] = w / members.sum()
    micro = np.asarray(pool["kind"]) == "micro"
    steps, bs = int(cfg["steps"]), int(cfg["batch_size"])
    curriculum = cfg["micro_curriculum"]
    plan, weights = [], {}
    for step in range(steps):
        t = step / max(steps - 1, 1)
        ramp = 0.0 if curriculum is None else float(np.clip((t - curriculum[0]) / max(curriculum[1] - curriculum[0],
                                                                                      1e-9), 0.0, 1.0))
        if ramp not in weights:
            w = task_w * np.where(micro, ramp, 1.0)
            for members, pc in classes:
                total = w[members].sum()
                if total > 0:
                    w[members] *= pc / total  # each class keeps its prior probability, whatever is masked
            weights[ramp] = w / w.sum()
        plan.append(rng.choice(len(task_w), size=bs, replace=True, p=weights[ramp]))
    return plan


def train_probe_vlm(pool: dict, config: dict | None = None, seed: int = 0, init: ProbeVLM | str | Path | None = None,
                    progress: bool = True) -> dict:
    """Train the probe VLM on a pre-processed ``pool``; return ``{"model": ProbeVLM, "history": {...}}``.

    Examples are drawn with the word-frequency prior, the task weights and the micro curriculum
    (``pretrain_plan``): the zoo's warm-up and web stage (fine-tuning a probe VLM on a training split is
    emoprobe.finetune's job, as for any VLM). ``init`` (a ProbeVLM or a saved folder) starts from trained weights
    (every parameter is updated); otherwise a fresh model from ``seed``.
    """
    cfg = split_config(config, TRAIN_DEFAULTS)
    settings = seed_everything(seed, deterministic=cfg["deterministic"], num_threads=cfg["num_threads"])
    if init is None:
        vlm = build(seed=seed, **cfg["model"])
    elif isinstance(init, ProbeVLM):
        vlm = init
    else:
        vlm = ProbeVLM.from_pretrained(init)
    plan = pretrain_plan(pool, cfg, seed)
    pad = vlm.processor.tokenizer.pad_token_id
    examples = pool["examples"]

    def next_batch(step):
        return collate([examples[i] for i in plan[step]], pad)

    optim = {k: cfg[k] for k in OPTIMIZER_DEFAULTS}
    optim["warmup_steps"] = min(int(cfg["warmup_steps"]), max(1, int(cfg["steps"]) // 10))
    vlm.model.train()
    history = fit(vlm.model, next_batch, int(cfg["steps"]), progress=progress, desc="probe-vlm pretrain",
                  **optim)
    vlm.model.eval()
    drawn = np.concatenate(plan)
    labels = np.asarray(pool["label"])[drawn]
    history.update({
        "seed": int(seed), "settings": settings, "num_parameters": vlm.num_parameters(),
        "pool_examples": len(examples), "pool_clips": int(pool["clip"].max()) + 1,
        "drawn_label_share": {k: round(float(v) / len(labels), 5) for k, v in zip(*np.unique(labels, return_counts=True))},
        "drawn_task_share": {k: round(float(v) / len(drawn), 5)
                             for k, v in zip(*np.unique(np.asarray(pool["task"])[drawn], return_counts=True))},
        "drawn_micro_share": round(float(np.mean(np.asarray(pool["kind"])[drawn] == "micro")), 5),
    })
    vlm.info = {"stage": "pretrain", "seed": int(seed), "prior_power": cfg["prior_power"]}
    return {"model": vlm, "history": history}


__all__ = ["TASK_GROUPS", "TRAIN_DEFAULTS", "pretrain_plan", "train_probe_vlm"]
