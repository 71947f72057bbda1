"""Encoding the probe VLM's training examples: the processor path HFBackend takes, plus the answer's labels.

A training example is a (frames, prompt, answer) triple (emoprobe.probe.vlm.examples draws them from probe
clips). The prompt goes through the processor exactly as HFBackend sends it (chat template,
``do_sample_frames=False``, the sampler's frame indices as metadata; ``fast_encode_prompt`` gives the same ids
and pixels without the processor's per-call overhead) and the answer's token ids are appended, so the loss
covers the answer and ``<|im_end|>`` only, masked from the END of the expanded sequence (the processor expands
``<|video_pad|>``), with ``mm_token_type_ids`` carried along (transformers 5 needs them). ``collate`` batches
examples left-padded, as at inference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def _messages(prompt: str) -> list:
    # the same message HFBackend builds for a video request (emoprobe.vlm.hf.HFBackend._messages)
    return [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]}]


def encode_prompt(processor, frames: np.ndarray, prompt: str, indices=None, clip_fps=None, clip_num_frames=None):
    """The processor's output for one (frames, prompt) request, as HFBackend.build_inputs produces it."""
    text = processor.apply_chat_template(_messages(prompt), add_generation_prompt=True, tokenize=False)
    n = len(frames)
    idx = [int(i) for i in indices] if indices is not None else list(range(n))
    meta = {"total_num_frames": int(clip_num_frames or max(idx) + 1), "fps": float(clip_fps) if clip_fps else None,
            "frames_indices": idx, "height": int(frames.shape[1]), "width": int(frames.shape[2])}
    return processor(text=[text], videos=[frames], return_tensors="pt", text_kwargs={"padding": True},
                     videos_kwargs={"do_sample_frames": False, "video_metadata": [meta]})


def fast_encode_prompt(processor, frames: np.ndarray, prompt: str, **meta) -> dict:
    """``encode_prompt`` without the video processor's per-call overhead (about 40 ms for 8 tiny frames, i.e.
    minutes for a training pool): frames already at a valid size (``fit_budget``) are normalised and cut into
    patches in the processor's own layout (Qwen2VLVideoProcessor.patchify), and the prompt's
    ``<|video_pad|>`` is expanded to t*h*w / merge^2 tokens as Qwen2VLProcessor does. A test checks that both
    paths give identical ids and pixel values; anything unusual falls back to the official processor.
    """
    vp = processor.video_processor
    arr = np.asarray(frames)
    ps, tps, ms = int(vp.patch_size), int(vp.temporal_patch_size), int(vp.merge_size)
    n, h, w = arr.shape[:3]
    side_ok = h % (ps * ms) == 0 and w % (ps * ms) == 0
    limits = vp.size
    lo, hi = getattr(limits, "shortest_edge", None), getattr(limits, "longest_edge", None)
    if isinstance(limits, dict):
        lo, hi = limits.get("shortest_edge"), limits.get("longest_edge")
    if not side_ok or lo is None or hi is None or not (lo <= h * w <= hi):
        return encode_prompt(processor, frames, prompt, **meta)
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float() * float(vp.rescale_factor)
    mean = torch.tensor(vp.image_mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(vp.image_std, dtype=torch.float32).view(1, 3, 1, 1)
    x = (x - mean) / std
    if pad := -n % tps:
        x = torch.cat([x, x[-1:].expand(pad, -1, -1, -1)])
    gt, gh, gw = x.shape[0] // tps, h // ps, w // ps
    patches = x.view(gt, tps, 3, gh // ms, ms, ps, gw // ms, ms, ps).permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    pixel_values = patches.reshape(gt * gh * gw, 3 * tps * ps * ps)
    text = processor.apply_chat_template(_messages(prompt), add_generation_prompt=True, tokenize=False)
    token = processor.video_token
    if text.count(token) != 1:
        return encode_prompt(processor, frames, prompt, **meta)
    text = text.replace(token, token * (gt * gh * gw // ms ** 2))
    ids = torch.tensor([processor.tokenizer(text, add_special_tokens=False)["input_ids"]])
    mm = (ids == processor.video_token_id).long() * 2
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "mm_token_type_ids": mm,
            "pixel_values_videos": pixel_values, "video_grid_thw": torch.tensor([[gt, gh, gw]])}


def encode_example(processor, frames: np.ndarray, prompt: str, answer: str, fast: bool = True, **meta) -> dict:
    """One training example: expanded prompt ids + answer ids + ``<|im_end|>``; labels only on the answer."""
    enc = (fast_encode_prompt if fast else encode_prompt)(processor, frames, prompt, **meta)
    prompt_ids = enc["input_ids"][0]
    tok = processor.tokenizer
    answer_ids = torch.tensor(tok(answer, add_special_tokens=False)["input_ids"] + [tok.convert_tokens_to_ids("<|im_end|>")])
    ids = torch.cat([prompt_ids, answer_ids])
    labels = torch.full_like(ids, -100)
    labels[-len(answer_ids):] = answer_ids  # masked from the end: the prompt's expanded length never matters
    mm = enc.get("mm_token_type_ids")
    mm = torch.cat([mm[0], torch.zeros(len(answer_ids), dtype=mm.dtype)]) if mm is not None else None
    out = {"input_ids": ids, "labels": labels, "pixel_values_videos": enc["pixel_values_videos"].to(torch.float16),
           "video_grid_thw": enc["video_grid_thw"]}
    if mm is not None:
        out["mm_token_type_ids"] = mm
    return out


def collate(examples: Sequence[dict], pad_id: int) -> dict:
    """Left-padded batch (as at inference); pixel patches concatenated in order, as the processor packs them."""
    length = max(len(e["input_ids"]) for e in examples)
    n = len(examples)
    ids = torch.full((n, length), pad_id, dtype=torch.long)
    labels = torch.full((n, length), -100, dtype=torch.long)
    mask = torch.zeros((n, length), dtype=torch.long)
    mm = torch.zeros((n, length), dtype=torch.long)
    for i, e in enumerate(examples):
        k = len(e["input_ids"])
        ids[i, length - k:] = e["input_ids"]
        labels[i, length - k:] = e["labels"]
        mask[i, length - k:] = 1
        if "mm_token_type_ids" in e:
            mm[i, length - k:] = e["mm_token_type_ids"]
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels,
             "pixel_values_videos": torch.cat([e["pixel_values_videos"] for e in examples]).float(),
             "video_grid_thw": torch.cat([e["video_grid_thw"] for e in examples])}
    if any("mm_token_type_ids" in e for e in examples):
        batch["mm_token_type_ids"] = mm
    return batch


__all__ = ["collate", "encode_example", "encode_prompt", "fast_encode_prompt"]
