"""Fine-tune any transformers VLM on a dataset's training split, with a class sampler (finding F5).

The paper fine-tunes Qwen2.5-VL with LoRA under natural and class-balanced sampling and finds the balanced model's
answers spread evenly over the classes. ``finetune`` does the same for any model the hf backend loads (a hub
name, a local folder, ``probe:...`` or ``tiny:...``):

- **data**: the training split's records (emoprobe.data.load); every step draws ``batch_size`` clips with the
  class sampler (emoprobe.samplers.classes: ``instance``, ``sqrt``, ``balanced``, ``progressive``, ...), epoch by
  epoch; each clip's frames come from the model's own sampler (or ``sampler``), decoded from disk;
- **example**: the evaluation's own question (``prompt``, the candidate list in ``class_order``; ``shuffled``
  draws a new order at every step) and the class name as the assistant's answer, built by the same
  `HFBackend.build_inputs` that evaluation uses, one padded batch per step (``micro_batch_size`` splits it for
  memory); the loss covers the answer tokens only (the prompt's tokens, video placeholders included, are masked);
- **optimiser**: AdamW without decay on biases and norms, linear warm-up over ``warmup_steps`` (default a tenth
  of the run), cosine decay to ``min_lr_ratio``, gradient clipping (emoprobe.probe.training's rule, so the probe's
  fine-tunes, which this code trains, and a real model's follow one recipe);
- **weights**: LoRA adapters (peft) on every linear layer of the language model by default, or every weight
  (``full=True``);
- **resume**: every ``save_every`` steps the trainable weights, the optimiser and the step go to
  ``checkpoint.pt`` (written whole, then renamed); a rerun continues from there with the same data order;
- **output**: ``<out>/model``, a complete checkpoint folder (LoRA merged into the weights, the processor beside
  them) that ``emoprobe eval --model <out>/model`` loads like any other, plus ``history.json`` (loss per step,
  drawn class counts).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["FinetuneConfig", "finetune", "add_command"]


@dataclass(frozen=True)
class FinetuneConfig:
    class_sampler: str = "instance"
    steps: int = 200
    batch_size: int = 4
    micro_batch_size: int | None = None  # clips per forward pass (gradients accumulate); None: the whole batch
    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: tuple = (0.9, 0.999)
    warmup_steps: int | None = None    # None: a tenth of the steps
    min_lr_ratio: float = 0.05         # the cosine decay's floor, as a share of lr
    clip_grad: float | None = 1.0      # None: no clipping
    full: bool = False                 # every weight instead of LoRA adapters
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_targets: str | tuple = "all-linear"
    sampler: str | None = None         # None: the model's own default frame sampler
    sampler_params: dict = field(default_factory=dict)
    prompt: str = "closed_set"
    class_order: str = "fixed"
    save_every: int = 50
    seed: int = 0
    num_threads: int | None = None     # torch threads (None: torch's default); fixed, a run is bit-identical

    def __post_init__(self):
        from emoprobe.prompts import ORDERS
        from emoprobe.samplers.classes import list_class_samplers

        if self.class_sampler not in list_class_samplers():
            raise ValueError(f"class_sampler: expected one of {list_class_samplers()}, got {self.class_sampler!r}")
        for name in ("steps", "batch_size", "save_every", "lora_rank"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        for name in ("micro_batch_size", "num_threads"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name}: expected a positive integer or None, got {value!r}")
        if self.warmup_steps is not None and not (isinstance(self.warmup_steps, int) and self.warmup_steps >= 0):
            raise ValueError(f"warmup_steps: expected a non-negative integer or None, got {self.warmup_steps!r}")
        if not self.lr > 0:
            raise ValueError(f"lr: expected a positive learning rate, got {self.lr!r}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio: expected a share of lr in [0, 1], got {self.min_lr_ratio!r}")
        if self.class_order not in ORDERS:
            raise ValueError(f"class_order: expected one of {ORDERS}, got {self.class_order!r}")

    @property
    def warmup(self) -> int:
        return self.steps // 10 if self.warmup_steps is None else self.warmup_steps


def _draws(labels, cfg: FinetuneConfig) -> list[np.ndarray]:
    """Clip indices of every step: the class sampler's epochs, cut into batches."""
    from emoprobe.samplers.classes import make_class_sampler

    sampler = make_class_sampler(cfg.class_sampler)
    total = cfg.steps * cfg.batch_size
    num_epochs = max(1, math.ceil(total / len(labels)))
    drawn = np.concatenate([sampler.sample_epoch(labels, epoch=e, num_epochs=num_epochs, seed=cfg.seed)
                            for e in range(num_epochs)])[:total]
    return [drawn[s * cfg.batch_size:(s + 1) * cfg.batch_size] for s in range(cfg.steps)]


def _request(smp, rec, cfg: FinetuneConfig, labels, step: int):
    """The evaluation's request for one clip at one step (frames from the sampler, decoded from disk)."""
    from emoprobe import prompts
    from emoprobe.conditions import presented_times
    from emoprobe.samplers import clip_rng
    from emoprobe.video import clip_info, read_frames
    from emoprobe.vlm.base import VLMRequest

    cid = str(rec["id"])
    info = clip_info(rec["path"], fps=rec.get("fps"))
    sample = smp.sample(info["num_frames"], info["fps"], rng=clip_rng(cfg.seed + step, cid),
                        frame_times=info["timestamps"])
    indices = [int(i) for i in sample.indices]
    times = [float(t) for t in sample.timestamps]
    presented = indices
    if getattr(smp, "shuffle", False):
        # shuffled frames are told the sorted times, as the evaluation tells them (emoprobe.conditions), so a
        # model that reads timestamps cannot undo the shuffle in training either
        presented, times = presented_times(indices, dict(zip(indices, times)))
    # a shuffled candidate list changes from step to step (the seed), so no order is learnt with the clip
    rendered = prompts.render(cfg.prompt, labels, order=cfg.class_order, seed=cfg.seed + step, clip_id=cid,
                              timestamps=times)
    return VLMRequest(prompt=rendered["text"], frames=read_frames(rec["path"], indices), frame_indices=presented,
                      timestamps=times, clip_fps=float(info["fps"]), clip_num_frames=int(info["num_frames"]),
                      request_id=cid)


def _answer_spans(tokenizer, prompts_: list[str], full: list[str]) -> list[tuple[int, int]]:
    """(answer tokens, trailing tokens) of each conversation: the answer turn is what the full text has after
    its common prefix with the prompt, up to the turn's end token; the whitespace the template writes after it
    (Qwen's newline) is not trained, as the model never generates past its end token. Counted on the text before
    the processor expands media placeholders: the prefix holds them all, so the counts from the end hold."""
    out = []
    for p, f in zip(prompts_, full):
        ids = lambda t: tokenizer(t, add_special_tokens=False)["input_ids"]  # noqa: E731
        a, b, stripped = ids(p), ids(f), len(ids(f.rstrip()))
        common = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        out.append((stripped - common, len(b) - stripped))
    return out


def _batch(backend, requests, answers):
    """One padded batch with ``labels`` masked to the answer tokens (and the turn's end token)."""
    batch = backend.build_inputs(requests, answers=answers)
    tokenizer = getattr(backend.processor_, "tokenizer", backend.processor_)
    spans = _answer_spans(tokenizer, backend.chat_texts(requests), backend.chat_texts(requests, answers))
    target = batch["input_ids"].clone().fill_(-100)
    for row, (k, tail) in enumerate(spans):
        if k < 1:
            raise ValueError(f"clip {requests[row].request_id}: the chat template left no answer tokens to train on")
        real = batch["attention_mask"][row].nonzero().flatten()  # padding on either side
        keep = real[len(real) - tail - k:len(real) - tail]
        target[row, keep] = batch["input_ids"][row, keep]
    batch["labels"] = target
    return batch


def _wrap(model, cfg: FinetuneConfig):
    if cfg.full:
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    from peft import LoraConfig, get_peft_model

    targets = cfg.lora_targets if isinstance(cfg.lora_targets, str) else list(cfg.lora_targets)
    return get_peft_model(model, LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha,
                                            lora_dropout=cfg.lora_dropout, target_modules=targets))


def finetune(records, model, out_dir, config: FinetuneConfig | None = None, labels=None, dataset=None,
             device=None, dtype=None, progress: bool = True) -> dict:
    """Fine-tune ``model`` on ``records`` (a training split) and save ``<out_dir>/model``; returns the history."""
    import torch

    from emoprobe.cache import remove_orphan_files, remove_orphans, temporary_name
    from emoprobe.evaluate import _make_backend, _make_sampler
    from emoprobe.labels import LABEL_SETS
    from emoprobe.probe.training import make_optimizer, seed_everything, warmup_cosine
    from emoprobe.progress import bar

    cfg = config or FinetuneConfig()
    records = [r for r in records if r.get("exists", True)]
    if not records:
        raise ValueError("records: no training clips on disk")
    labels = list(labels or (LABEL_SETS[dataset] if dataset in LABEL_SETS else sorted({r["label"] for r in records})))
    unknown = sorted({r["label"] for r in records} - set(labels))
    if unknown:
        raise ValueError(f"records: labels {unknown} are not classes of {labels}")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"out_dir {out}: cannot create it ({e.strerror or e}); expected a folder") from None
    remove_orphans(out)  # the model folder and checkpoint of a run killed while writing them
    remove_orphan_files(out)
    settings = seed_everything(cfg.seed, num_threads=cfg.num_threads)
    spec, backend = _make_backend(model, None, device, dtype)
    if getattr(backend, "name", None) != "hf":
        raise ValueError(f"model {model!r}: fine-tuning needs a local transformers VLM (hf backend)")
    backend.load()
    smp = _make_sampler(cfg.sampler, cfg.sampler_params, spec)
    net = _wrap(backend.model_, cfg)
    net.train()
    optim = make_optimizer(net, cfg.lr, cfg.weight_decay, cfg.betas)
    base_lr = [g["lr"] for g in optim.param_groups]
    plan = _draws([r["label"] for r in records], cfg)
    ckpt, start = out / "checkpoint.pt", 0
    history = {"loss": [], "lr": [], "grad_norm": [], "config": asdict(cfg), "labels": labels, "settings": settings}
    if ckpt.exists():  # resume: same data order, weights and optimiser as at the last save
        state = torch.load(ckpt, weights_only=False)
        net.load_state_dict(state["trainable"], strict=False)
        optim.load_state_dict(state["optimizer"])
        start, history = state["step"], state["history"]
    device_ = next(net.parameters()).device
    chunk = cfg.micro_batch_size or cfg.batch_size
    trainable = [p for p in net.parameters() if p.requires_grad]
    history.setdefault("seconds", 0.0)  # training wall time, summed over resumed runs (the one non-deterministic entry)
    with bar(cfg.steps, f"finetune {cfg.class_sampler}", progress, unit="step") as b:
        b.update(start)
        t0 = time.perf_counter()
        for step in range(start, cfg.steps):
            scale = warmup_cosine(step, cfg.steps, cfg.warmup, cfg.min_lr_ratio)
            for group, lr in zip(optim.param_groups, base_lr):
                group["lr"] = lr * scale  # set from the step alone, so a resumed run follows the same schedule
            optim.zero_grad(set_to_none=True)
            picks = [records[int(i)] for i in plan[step]]
            batches = [_batch(backend, [_request(smp, r, cfg, labels, step) for r in picks[i:i + chunk]],
                              [r["label"] for r in picks[i:i + chunk]]) for i in range(0, len(picks), chunk)]
            tokens = sum(int((bt["labels"] != -100).sum()) for bt in batches)
            total = 0.0
            for bt in batches:  # each part weighted by its answer tokens: the whole batch's token mean
                loss = net(**bt.to(device_)).loss * (int((bt["labels"] != -100).sum()) / tokens)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"finetune: loss became {loss.item()} at step {step}")
                loss.backward()
                total += float(loss.detach())
            norm = torch.nn.utils.clip_grad_norm_(trainable, cfg.clip_grad or float("inf"))
            optim.step()
            history["loss"].append(total)
            history["lr"].append(cfg.lr * scale)
            history["grad_norm"].append(float(norm))
            b.update(1)
            if (step + 1) % cfg.save_every == 0 or step + 1 == cfg.steps:
                history["seconds"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                state = {k: v.detach() for k, v in net.named_parameters() if v.requires_grad}
                tmp = ckpt.with_suffix(f".{os.getpid()}.tmp")
                torch.save({"step": step + 1, "trainable": state, "optimizer": optim.state_dict(),
                            "history": history}, tmp)
                os.replace(tmp, ckpt)
    drawn = np.concatenate(plan)
    names, counts = np.unique([records[int(i)]["label"] for i in drawn], return_counts=True)
    history["drawn_class_counts"] = {str(c): int(n) for c, n in zip(names, counts)}
    final = net.merge_and_unload() if not cfg.full else net
    final.eval()
    # written beside its place, then renamed: "model/config.json exists" then means the whole model is there
    tmp = out / temporary_name("model")
    final.save_pretrained(tmp)
    backend.processor_.save_pretrained(tmp)
    shutil.rmtree(out / "model", ignore_errors=True)
    os.replace(tmp, out / "model")
    (out / "history.json").write_text(json.dumps(history, indent=1, default=str) + "\n")
    return history


def add_command(sub):
    p = sub.add_parser("finetune", help="fine-tune a VLM (LoRA or full) on a training split with a class sampler")
    p.add_argument("--model", required=True, help="registered name, checkpoint folder, probe:... or tiny:...")
    p.add_argument("--data", required=True, help="dataset name (dfew, mafw, ferv39k)")
    p.add_argument("--root", required=True, help="dataset root folder, or probe:<profile>/<test set>")
    p.add_argument("--fold", type=int, default=None)
    p.add_argument("--split", default="train")
    p.add_argument("--class-sampler", default="instance")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--micro-batch-size", type=int, default=None,
                   help="clips per forward pass, gradients accumulated over the batch (default: the whole batch)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--warmup-steps", type=int, default=None, help="linear warm-up (default: a tenth of the steps)")
    p.add_argument("--class-order", default="fixed", help="candidate order in the prompt: fixed, alphabetical, "
                   "shuffled (a new order every step)")
    p.add_argument("--full", action="store_true", help="update every weight instead of LoRA adapters")
    p.add_argument("--lora-rank", type=int, default=8)
    p.add_argument("--sampler", default=None, help="frame sampler (default: the model's own)")
    p.add_argument("--save-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--dtype", default=None)
    p.add_argument("--out", required=True, help="output folder (resumes from its checkpoint.pt)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)
    return p


def _run(args) -> int:
    from emoprobe.evaluate import load_records
    from emoprobe.vlm.base import BackendError

    try:
        cfg = FinetuneConfig(class_sampler=args.class_sampler, steps=args.steps, batch_size=args.batch_size,
                             micro_batch_size=args.micro_batch_size, lr=args.lr, warmup_steps=args.warmup_steps,
                             class_order=args.class_order, full=args.full, lora_rank=args.lora_rank,
                             sampler=args.sampler, save_every=args.save_every, seed=args.seed)
        records = load_records(args.data, args.root, args.split, args.fold)
        history = finetune(records, args.model, args.out, cfg, dataset=args.data, device=args.device,
                           dtype=args.dtype, progress=not args.no_progress)
    except (ValueError, BackendError, OSError) as e:
        print(f"emoprobe finetune: error: {e}", file=sys.stderr)
        return 2
    loss = history["loss"]
    print(f"{len(loss)} steps; loss {loss[0]:.4f} -> {loss[-1]:.4f}; model: {Path(args.out) / 'model'}")
    return 0
