"""Fine-tune any transformers VLM on a dataset's training split, with a class sampler (finding F5).

The paper fine-tunes Qwen2.5-VL with LoRA under natural and class-balanced sampling and finds the balanced model's
answers spread evenly over the classes. ``finetune`` does the same for any model the hf backend loads (a hub
name, a local folder, ``probe:...`` or ``tiny:...``):

- **data**: the training split's records (emoprobe.data.load); every step draws ``batch_size`` clips with the
  class sampler (emoprobe.samplers.classes: ``instance``, ``sqrt``, ``balanced``, ``progressive``, ...), epoch by
  epoch; each clip's frames come from the model's own sampler (or ``sampler``), decoded from disk;
- **example**: the evaluation's own question (``prompt``, the candidate list in ``class_order``) and the class
  name as the assistant's answer, built by the same `HFBackend.build_inputs` that evaluation uses; the loss
  covers the answer tokens only (the prompt's tokens, video placeholders included, are masked);
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
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["FinetuneConfig", "finetune", "add_command"]


@dataclass(frozen=True)
class FinetuneConfig:
    class_sampler: str = "instance"
    steps: int = 200
    batch_size: int = 4
    lr: float = 1e-4
    weight_decay: float = 0.0
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

    def __post_init__(self):
        from emoprobe.samplers.classes import list_class_samplers

        if self.class_sampler not in list_class_samplers():
            raise ValueError(f"class_sampler: expected one of {list_class_samplers()}, got {self.class_sampler!r}")
        for name in ("steps", "batch_size", "save_every", "lora_rank"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"lr: expected a positive learning rate, got {self.lr!r}")


def _draws(labels, cfg: FinetuneConfig) -> list[np.ndarray]:
    """Clip indices of every step: the class sampler's epochs, cut into batches."""
    from emoprobe.samplers.classes import make_class_sampler

    sampler = make_class_sampler(cfg.class_sampler)
    total = cfg.steps * cfg.batch_size
    num_epochs = max(1, math.ceil(total / len(labels)))
    drawn = np.concatenate([sampler.sample_epoch(labels, epoch=e, num_epochs=num_epochs, seed=cfg.seed)
                            for e in range(num_epochs)])[:total]
    return [drawn[s * cfg.batch_size:(s + 1) * cfg.batch_size] for s in range(cfg.steps)]


def _example(backend, smp, rec, cfg: FinetuneConfig, labels, step: int):
    """(inputs with labels masked to the answer) for one clip at one step."""
    from emoprobe import prompts
    from emoprobe.samplers import clip_rng
    from emoprobe.video import probe, read_frames
    from emoprobe.vlm.base import VLMRequest

    cid = str(rec["id"])
    info = probe(rec["path"], fps=rec.get("fps"))
    sample = smp.sample(info["num_frames"], info["fps"], rng=clip_rng(cfg.seed + step, cid),
                        frame_times=info["timestamps"])
    indices = [int(i) for i in sample.indices]
    rendered = prompts.render(cfg.prompt, labels, order=cfg.class_order, seed=cfg.seed, clip_id=cid,
                              timestamps=[float(t) for t in sample.timestamps])
    req = VLMRequest(prompt=rendered["text"], frames=read_frames(rec["path"], indices), frame_indices=indices,
                     timestamps=[float(t) for t in sample.timestamps], clip_fps=float(info["fps"]),
                     clip_num_frames=int(info["num_frames"]), request_id=cid)
    full = backend.build_inputs([req], answers=[rec["label"]])
    prompt_len = backend.build_inputs([req])["input_ids"].shape[1]
    target = full["input_ids"].clone()
    target[:, :prompt_len] = -100  # the answer (and its end token) only; the prompt is an exact prefix
    full["labels"] = target
    if not (target != -100).any():
        raise ValueError(f"clip {cid}: the chat template left no answer tokens to train on")
    return full


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

    from emoprobe.evaluate import _make_backend, _make_sampler
    from emoprobe.labels import LABEL_SETS
    from emoprobe.probe.training import seed_everything
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
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    spec, backend = _make_backend(model, None, device, dtype)
    if getattr(backend, "name", None) != "hf":
        raise ValueError(f"model {model!r}: fine-tuning needs a local transformers VLM (hf backend)")
    backend.load()
    smp = _make_sampler(cfg.sampler, cfg.sampler_params, spec)
    net = _wrap(backend.model_, cfg)
    net.train()
    params = [p for p in net.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    plan = _draws([r["label"] for r in records], cfg)
    ckpt, history, start = out / "checkpoint.pt", {"loss": [], "config": asdict(cfg), "labels": labels}, 0
    if ckpt.exists():  # resume: same data order, weights and optimiser as at the last save
        state = torch.load(ckpt, weights_only=False)
        net.load_state_dict(state["trainable"], strict=False)
        optim.load_state_dict(state["optimizer"])
        start, history = state["step"], state["history"]
    device_ = next(net.parameters()).device
    with bar(cfg.steps, f"finetune {cfg.class_sampler}", progress, unit="step") as b:
        b.update(start)
        for step in range(start, cfg.steps):
            optim.zero_grad()
            total = 0.0
            for i in plan[step]:
                batch = _example(backend, smp, records[int(i)], cfg, labels, step).to(device_)
                loss = net(**batch).loss / len(plan[step])
                loss.backward()
                total += float(loss.detach())
            optim.step()
            history["loss"].append(total)
            b.update(1)
            if (step + 1) % cfg.save_every == 0 or step + 1 == cfg.steps:
                trainable = {k: v for k, v in net.named_parameters() if v.requires_grad}
                tmp = ckpt.with_suffix(f".{os.getpid()}.tmp")
                torch.save({"step": step + 1, "trainable": {k: v.detach() for k, v in trainable.items()},
                            "optimizer": optim.state_dict(), "history": history}, tmp)
                os.replace(tmp, ckpt)
    drawn = np.concatenate(plan)
    names, counts = np.unique([records[int(i)]["label"] for i in drawn], return_counts=True)
    history["drawn_class_counts"] = {str(c): int(n) for c, n in zip(names, counts)}
    final = net.merge_and_unload() if not cfg.full else net
    final.eval()
    final.save_pretrained(out / "model")
    backend.processor_.save_pretrained(out / "model")
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
    p.add_argument("--lr", type=float, default=1e-4)
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
                             lr=args.lr, full=args.full, lora_rank=args.lora_rank, sampler=args.sampler,
                             save_every=args.save_every, seed=args.seed)
        records = load_records(args.data, args.root, args.split, args.fold)
        history = finetune(records, args.model, args.out, cfg, dataset=args.data, device=args.device,
                           dtype=args.dtype, progress=not args.no_progress)
    except (ValueError, BackendError, FileNotFoundError) as e:
        print(f"emoprobe finetune: error: {e}", file=sys.stderr)
        return 2
    loss = history["loss"]
    print(f"{len(loss)} steps; loss {loss[0]:.4f} -> {loss[-1]:.4f}; model: {Path(args.out) / 'model'}")
    return 0
