"""The probe VLM: a tiny, real ``Qwen2VLForConditionalGeneration`` built, pretrained and fine-tuned on CPU.

What is built (``build``): a byte-level BPE tokenizer trained here with ``tokenizers`` on the probe's own text
(`emoprobe.probe.corpus.tokenizer_corpus`: every prompt, the label words of DFEW/MAFW/FERV39k, captions,
motion phrases) plus the eight Qwen2-VL special tokens; Qwen's chat template; the official
``Qwen2VLProcessor`` with explicit pixel limits; and a Qwen2-VL of about 0.3 M parameters with the recipe's
shape (the CPU recipe measured here: vision patch 7, embed 64, depth 2; LM hidden 64, 2 layers, 4 heads, 2 KV
heads, ``mrope_section`` [2, 3, 3], which must sum to head_dim / 2). ``ProbeVLM.save_pretrained`` writes model,
processor and generation config (eos ``<|im_end|>``, pad ``<|endoftext|>``, left padding) into ONE folder, so
``emoprobe.vlm.hf.HFBackend(model=folder)`` loads it exactly as it loads a hub checkpoint.

Training examples are (frames, prompt, answer) triples rendered from probe clips (``web_examples``,
``finetune_examples``); the prompt goes through the processor exactly as HFBackend sends it (chat template,
``do_sample_frames=False``, the sampler's frame indices as metadata) and the answer's token ids are appended,
so the loss covers the answer and ``<|im_end|>`` only, masked from the END of the expanded sequence
(the processor expands ``<|video_pad|>``), with ``mm_token_type_ids`` carried along (transformers 5 needs them).

**The visual-token budget** (``frame_side``): every input costs at most ``visual_tokens`` of the model's own
visual tokens; the default (``default_budget``) is what 8 frames at the full 56 px cost, 16 tokens with the
quick profile's patch 14 (64 with the recipe's patch 7). One merged token covers (patch x 2)^2 px of a frame
pair (temporal patch 2), so n frames at side s cost ceil(n / 2) * (s / (2 * patch))^2 tokens; the side is the
largest multiple of 2 * patch, at most 56, that fits (patch 14: 56 px up to 8 frames, 28 px beyond), and at most
2 * budget frames are kept (a longer sample keeps a uniform subset). More frames therefore means fewer pixels
per frame, as a fixed context forces on a real VLM (the paper's abstract: context and token limits).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from emoprobe.labels import LABEL_SETS
from emoprobe.lexicon import concept
from emoprobe.probe import corpus
from emoprobe.probe.training import OPTIMIZER_DEFAULTS, fit, seed_everything

MODEL_DEFAULTS = {
    "vocab_size": 1024,
    # 14, not the recipe's 7: a quarter of the visual tokens, about 7x faster per step on a busy 2-core machine,
    # and it still learns DFEW's 7 classes from 8 frames at 56 px (measured: macro-F1 0.51 after 1,500 steps)
    "patch_size": 14,
    "vision_embed": 64,
    "vision_depth": 2,
    "vision_heads": 4,
    "hidden_size": 64,
    "num_layers": 2,
    "num_heads": 4,
    "num_kv_heads": 2,
    "intermediate_size": 128,
    "mrope_section": [2, 3, 3],
    "frame_size": 56,  # the largest frame side the processor keeps (max_pixels = frame_size ** 2)
}
MERGE = 2
TEMPORAL_PATCH = 2
CONTEXT_SHARE = 0.25  # share of classification examples given as keyframes + motion text (MSCE stage 2)

# Sampling rates the training inputs are drawn at (the paper's frame-rate figure sweeps 1, 5, 10, 15, 20, 25 fps).
# Rates above 10 fps are left out: under the budget they give 28 px frames of a 3 s clip (little to learn
# from) and cost the most frames to render; evaluation at higher rates is then an extrapolation.
TRAIN_FPS = (1.0, 2.0, 3.0, 5.0, 8.0, 10.0)
# uniform frame counts: the usual 8-frame VLM input (drawn half the time: it is what the held-out scores use)
# and its neighbours
TRAIN_UNIFORM = (4, 8, 8, 8, 16)
UNIFORM_SHARE = 0.8  # the rest of the samples are at a fixed rate (TRAIN_FPS), thinned to the budget


# --- the processor's pixel rule and the budget --------------------------------------------------------------------

def token_unit(patch_size: int = MODEL_DEFAULTS["patch_size"]) -> int:
    """Pixels per side of one merged visual token (patch x spatial merge)."""
    return int(patch_size) * MERGE


def default_budget(patch_size: int = MODEL_DEFAULTS["patch_size"], frame_size: int = MODEL_DEFAULTS["frame_size"],
                   num_frames: int = 8) -> int:
    """Visual tokens of ``num_frames`` frames at the full side: the probe's default budget."""
    return math.ceil(num_frames / TEMPORAL_PATCH) * (frame_size // token_unit(patch_size)) ** 2


VISUAL_TOKENS = default_budget()  # 16 with patch 14


def patch_of(processor) -> int:
    """The patch size of a Qwen2-VL processor (what the budget is counted in)."""
    return int(processor.video_processor.patch_size)


def frame_side(num_frames: int, visual_tokens: int = VISUAL_TOKENS, max_side: int = MODEL_DEFAULTS["frame_size"],
               patch_size: int = MODEL_DEFAULTS["patch_size"]) -> int:
    """Frame side (px) so that ``num_frames`` frames cost at most ``visual_tokens`` tokens (module docstring)."""
    if num_frames < 1 or visual_tokens < 1:
        raise ValueError(f"frame_side: num_frames and visual_tokens must be >= 1, got {num_frames}, {visual_tokens}")
    unit = token_unit(patch_size)
    pairs = math.ceil(num_frames / TEMPORAL_PATCH)
    cells = max(1, math.isqrt(max(visual_tokens // pairs, 1)))
    return int(max(unit, min(max_side // unit, cells) * unit))


def visual_tokens_of(num_frames: int, side: int, patch_size: int = MODEL_DEFAULTS["patch_size"]) -> int:
    unit = token_unit(patch_size)
    return math.ceil(num_frames / TEMPORAL_PATCH) * (side // unit) ** 2


def max_frames(visual_tokens: int = VISUAL_TOKENS) -> int:
    """The most frames a budget allows (one token per frame pair at the smallest side)."""
    return TEMPORAL_PATCH * int(visual_tokens)


def budget_indices(indices: np.ndarray, visual_tokens: int = VISUAL_TOKENS) -> np.ndarray:
    """A sample's indices, thinned to a uniform subset when it has more frames than the budget allows."""
    indices = np.asarray(indices, dtype=np.int64)
    cap = max_frames(visual_tokens)
    if len(indices) <= cap:
        return indices
    return indices[np.rint(np.linspace(0, len(indices) - 1, cap)).astype(np.int64)]


def fit_budget(frames: np.ndarray, visual_tokens: int = VISUAL_TOKENS, max_side: int = MODEL_DEFAULTS["frame_size"],
               patch_size: int = MODEL_DEFAULTS["patch_size"]) -> np.ndarray:
    """Resize frames (n, H, W, 3) uint8 to the budget's square side (antialiased bilinear)."""
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"frames must be a uint8 array (n, H, W, 3), got {arr.dtype} {arr.shape}")
    side = frame_side(len(arr), visual_tokens, max_side, patch_size)
    if arr.shape[1] == side and arr.shape[2] == side:
        return arr
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


# --- building -----------------------------------------------------------------------------------------------------

def build_tokenizer(vocab_size: int = MODEL_DEFAULTS["vocab_size"], texts: Iterable[str] | None = None):
    """A byte-level BPE tokenizer trained on the probe corpus, with Qwen2-VL's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from emoprobe.vlm.tiny import QWEN_SPECIAL

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=int(vocab_size), special_tokens=QWEN_SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts if texts is not None else corpus.tokenizer_corpus()), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, padding_side="left", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>")


def build_processor(tokenizer, patch_size: int = MODEL_DEFAULTS["patch_size"],
                    frame_size: int = MODEL_DEFAULTS["frame_size"]):
    """The official Qwen2VLProcessor with explicit pixel limits (measured here: the defaults upscale small frames)."""
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    from emoprobe.vlm.tiny import QWEN_CHAT_TEMPLATE

    unit = token_unit(patch_size)
    size = {"shortest_edge": unit * unit, "longest_edge": frame_size * frame_size}
    common = dict(size=size, patch_size=patch_size, merge_size=MERGE, temporal_patch_size=TEMPORAL_PATCH)
    return Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(**common),
        video_processor=Qwen2VLVideoProcessor(**common, cap_pixels_per_frame=False, do_sample_frames=False),
        tokenizer=tokenizer, chat_template=QWEN_CHAT_TEMPLATE)


def split_config(config: dict | None, defaults: dict) -> dict:
    config = dict(config or {})
    unknown = set(config) - set(defaults)
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; expected some of {sorted(defaults)}")
    return {k: config.get(k, v) for k, v in defaults.items()}


def build(seed: int = 0, **cfg) -> ProbeVLM:
    """A freshly initialised probe VLM (weights from ``seed``): tokenizer, processor and model."""
    from transformers import GenerationConfig, Qwen2VLConfig, Qwen2VLForConditionalGeneration

    from emoprobe.vlm.tiny import QWEN_SPECIAL

    c = split_config(cfg, MODEL_DEFAULTS)
    head_dim = c["hidden_size"] // c["num_heads"]
    if c["hidden_size"] % c["num_heads"] or sum(c["mrope_section"]) * 2 != head_dim:
        raise ValueError(f"mrope_section {c['mrope_section']} must sum to head_dim / 2 = {head_dim // 2} "
                         f"(hidden_size {c['hidden_size']} / num_heads {c['num_heads']} / 2)")
    if c["frame_size"] % token_unit(c["patch_size"]):
        raise ValueError(f"frame_size {c['frame_size']} must be a multiple of patch_size x merge = "
                         f"{token_unit(c['patch_size'])}")
    tokenizer = build_tokenizer(c["vocab_size"])
    processor = build_processor(tokenizer, c["patch_size"], c["frame_size"])
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    config = Qwen2VLConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=c["hidden_size"],
                         intermediate_size=c["intermediate_size"], num_hidden_layers=c["num_layers"],
                         num_attention_heads=c["num_heads"], num_key_value_heads=c["num_kv_heads"],
                         max_position_embeddings=4096, bos_token_id=ids["<|endoftext|>"],
                         eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"], tie_word_embeddings=True,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                          "mrope_section": list(c["mrope_section"])}),
        vision_config=dict(depth=c["vision_depth"], embed_dim=c["vision_embed"], hidden_size=c["hidden_size"],
                           mlp_ratio=2, num_heads=c["vision_heads"], patch_size=c["patch_size"],
                           spatial_merge_size=MERGE, temporal_patch_size=TEMPORAL_PATCH),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    with torch.random.fork_rng():
        torch.manual_seed(int(seed))
        model = Qwen2VLForConditionalGeneration(config)
    model.generation_config = GenerationConfig(do_sample=False, eos_token_id=ids["<|im_end|>"],
                                               pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"])
    return ProbeVLM(model.eval(), processor)


class ProbeVLM:
    """Model + processor, saved together into one folder (what HFBackend and ``cached_train`` expect)."""

    MARKER = "EMOPROBE_PROBE.json"

    def __init__(self, model, processor, info: dict | None = None):
        self.model = model
        self.processor = processor
        self.info = info or {}

    def save_pretrained(self, folder) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder)
        self.processor.save_pretrained(folder)
        (folder / self.MARKER).write_text(json.dumps({"probe_vlm": True, **self.info}, indent=1, default=str) + "\n")
        return folder

    @classmethod
    def from_pretrained(cls, folder) -> ProbeVLM:
        from transformers import AutoProcessor, Qwen2VLForConditionalGeneration

        folder = Path(folder)
        if not (folder / "config.json").exists():
            raise ValueError(f"{folder}: not a saved probe VLM (no config.json)")
        marker = folder / cls.MARKER
        info = json.loads(marker.read_text()) if marker.exists() else {}
        model = Qwen2VLForConditionalGeneration.from_pretrained(folder).eval()
        return cls(model, AutoProcessor.from_pretrained(folder), info)

    def eval(self) -> ProbeVLM:
        self.model.eval()
        return self

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


# --- encoding examples --------------------------------------------------------------------------------------------

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


# --- training examples from probe clips ---------------------------------------------------------------------------

def draw_sample(num_frames: int, fps: float, rng: np.random.Generator, visual_tokens: int = VISUAL_TOKENS,
                uniform_share: float = UNIFORM_SHARE):
    """A training frame sample: uniform 4/8/16 frames, or a fixed rate of 1-25 fps, thinned to the budget."""
    from emoprobe.samplers import make_sampler

    if rng.random() < uniform_share:
        sampler = make_sampler("uniform", num_samples=int(rng.choice(TRAIN_UNIFORM)))
    else:
        sampler = make_sampler("fps", target_fps=float(rng.choice(TRAIN_FPS)))
    s = sampler.sample(int(num_frames), float(fps), rng=rng)
    return budget_indices(s.indices, visual_tokens)


def keyframe_sample(num_frames: int, fps: float, rng: np.random.Generator, visual_tokens: int = VISUAL_TOKENS):
    """MSCE input: keyframes at 1-2 fps plus four in-between frames per gap (as in the paper's MSCE figure)."""
    from emoprobe.samplers import make_sampler

    s = make_sampler("keyframes", keyframe_fps=float(rng.choice([1.0, 2.0])), per_gap=4).sample(int(num_frames),
                                                                                                  float(fps), rng=rng)
    return s


def _candidates(label: str, rng: np.random.Generator, seven_share: float = 0.3,
                dataset: str = "mafw") -> tuple[str, str]:
    """(dataset whose candidate list is shown, the answer in its wording). A MAFW pool mixes MAFW's 11 classes
    with the 7-class list (``seven_share``); a DFEW pool always shows DFEW's 7."""
    if dataset != "mafw":
        return dataset, corpus.dataset_word(label, dataset)
    if concept(label) in corpus.SEVEN_CLASS and rng.random() < seven_share:
        dataset = "dfew"
    return dataset, corpus.dataset_word(label, dataset)


def plain_example(clip: dict, rng: np.random.Generator, example_id: str, first: bool = True,
                  dataset: str = "mafw") -> dict:
    """The evaluation's own question: the closed-set prompt with a shuffled candidate list over 8 frames, uniform
    for a clip's first example and one random frame per segment (TSN) for the others."""
    from emoprobe import prompts
    from emoprobe.samplers import make_sampler

    name, params = ("uniform", {"num_samples": 8}) if first else ("segment_random", {"num_segments": 8})
    indices = make_sampler(name, **params).sample(int(clip["num_frames"]), float(clip["fps"]), rng=rng).indices
    dataset, answer = _candidates(clip["label"], rng, dataset=dataset)
    rendered = prompts.render("closed_set", LABEL_SETS[dataset], order="shuffled", seed=int(rng.integers(2**31 - 1)),
                              clip_id=example_id)
    return {"task": "plain", "indices": indices, "prompt": rendered["text"], "answer": answer}


def classify_example(clip: dict, rng: np.random.Generator, example_id: str, visual_tokens: int,
                     context_share: float, timed_share: float = 0.15, seven_share: float = 0.3,
                     dataset: str = "mafw") -> dict:
    """A closed-set question with a shuffled candidate list; with ``context_share`` an MSCE input (sparse
    keyframes + the oracle motion text of the gaps as context)."""
    from emoprobe import prompts

    dataset, answer = _candidates(clip["label"], rng, seven_share, dataset)
    context = None
    if rng.random() < context_share:
        s = keyframe_sample(clip["num_frames"], clip["fps"], rng, visual_tokens)
        indices = budget_indices(s.indices, visual_tokens)
        context = corpus.motion_context(clip["aus"], clip["au_names"], s, clip["fps"])
    else:
        indices = draw_sample(clip["num_frames"], clip["fps"], rng, visual_tokens)
    # timestamps cost about five tokens a frame: stated only for short samples, so no batch pads to hundreds
    pid = "closed_set_timed" if len(indices) <= 12 and rng.random() < timed_share else "closed_set"
    seed = int(rng.integers(2**31 - 1))
    rendered = prompts.render(pid, LABEL_SETS[dataset], order="shuffled", seed=seed, clip_id=example_id,
                              timestamps=indices / clip["fps"], context=context)
    return {"task": "classify_context" if context else "classify", "indices": indices, "prompt": rendered["text"],
            "answer": answer}


def caption_example(clip: dict, rng: np.random.Generator, visual_tokens: int, dataset: str = "mafw") -> dict:
    """A caption ("the person looks joyful") or a one-word open answer in the dataset's wording."""
    from emoprobe import prompts

    indices = draw_sample(clip["num_frames"], clip["fps"], rng, visual_tokens)
    if rng.random() < 0.5:
        return {"task": "caption", "indices": indices, "prompt": corpus.CAPTION_PROMPT,
                "answer": corpus.caption(clip["label"], rng)}
    if dataset == "mafw":
        dataset = "dfew" if concept(clip["label"]) in corpus.SEVEN_CLASS and rng.random() < 0.5 else "mafw"
    return {"task": "open", "indices": indices, "prompt": prompts.render("open", LABEL_SETS[dataset])["text"],
            "answer": corpus.dataset_word(clip["label"], dataset)}


def motion_example(clip: dict, rng: np.random.Generator, visual_tokens: int) -> dict:
    """MSCE stage 1: the frames of one keyframe gap (keyframe, in-betweens, keyframe) -> motion words.

    Gaps where something moves are preferred (three in four), so "the face stays still" does not swamp it.
    """
    from emoprobe import prompts

    s = keyframe_sample(clip["num_frames"], clip["fps"], rng, visual_tokens)
    gaps = corpus.motion_groups(s)
    if not gaps:
        indices = budget_indices(s.indices, visual_tokens)
        text = corpus.describe_motion(clip["aus"][indices], clip["au_names"])
    else:
        texts = [corpus.describe_motion(clip["aus"][corpus.gap_frames(*g)], clip["au_names"]) for g in gaps]
        moving = [i for i, t in enumerate(texts) if t != corpus.STILL]
        pick = moving if moving and rng.random() < 0.75 else list(range(len(gaps)))
        k = pick[int(rng.integers(len(pick)))]
        indices, text = corpus.gap_frames(*gaps[k]), texts[k]
    return {"task": "motion", "indices": indices, "prompt": prompts.render("msce_motion", [""])["text"],
            "answer": text}


WEB_TASKS = ("plain", "classify", "caption", "motion")


# --- pools of pre-processed examples ------------------------------------------------------------------------------

def _capped(spec_clip: dict, max_frames_per_clip: int | None) -> dict:
    c = dict(spec_clip)
    if max_frames_per_clip:
        c["num_frames"] = int(min(c["num_frames"], max_frames_per_clip))
    return c


def timeline_clips(spec_clips: Sequence[dict], size: int, max_frames_per_clip: int | None, crop: bool = True):
    """Spec clips with their timelines (aus, event) but no pixels: the frames a training example needs are
    rendered later, for that example only (``build_pool``). Far cheaper than rendering whole clips when a clip
    contributes a few sampled views: thousands of distinct clips cost what hundreds of whole clips cost."""
    from emoprobe.data.synth.aus import AU_NAMES
    from emoprobe.data.synth.timeline import make_timeline

    out = []
    for c in spec_clips:
        c = _capped(c, max_frames_per_clip)
        options = {k: v for k, v in c.items() if k not in ("id", "fold", "split", "scene", "label", "kind", "seed",
                                                            "fps", "num_frames", "identity_seed", "lengths")}
        tl = make_timeline(c["label"], kind=c.get("kind"), num_frames=c["num_frames"], fps=c.get("fps", 25.0),
                           seed=c.get("seed", 0), **options)
        out.append({"aus": tl["aus"], "au_names": AU_NAMES, "event": tl["event"], "label": c["label"],
                    "kind": tl["event"]["kind"], "fps": float(c.get("fps", 25.0)), "num_frames": int(c["num_frames"]),
                    "id": c.get("id"), "spec": c, "size": int(size), "crop": bool(crop)})
    return out


def clip_frames(clip: dict, indices) -> np.ndarray:
    """Frames ``indices`` of a clip: indexed from a rendered clip, rendered on demand for a timeline clip."""
    from emoprobe.data.synth.crop import RENDER_SIZE, face_crop
    from emoprobe.data.synth.generate import generate_clip

    idx = np.asarray(indices, dtype=np.int64)
    if "frames" in clip:
        return clip["frames"][idx]
    size, crop = clip["size"], clip["crop"]
    frames = generate_clip(**clip["spec"], size=RENDER_SIZE if crop else size, frame_indices=idx)["frames"]
    return face_crop(frames, size) if crop else frames


def build_pool(clips: Sequence[dict], tasks: dict, processor, seed: int, visual_tokens: int | None,
               context_share: float, progress: bool = False, desc: str = "encode", dataset: str = "mafw") -> dict:
    """Pre-process ``tasks[name]`` examples of every clip once (the recipe's 3x speed-up over per-step work).

    ``clips``: clips with their ``frames`` or timeline clips (``timeline_clips``; then only the frames
    the examples sample are rendered, once per clip). ``dataset``: whose class list the questions show.
    Returns ``{"examples": [...], "clip": array(example -> clip index), "task": [...], "label": [...],
    "kind": [...]}``.
    """
    from emoprobe.probe.training import progress_bar

    unknown = set(tasks) - set(WEB_TASKS)
    if unknown:
        raise ValueError(f"tasks: unknown {sorted(unknown)}; expected some of {WEB_TASKS}")
    patch = patch_of(processor)
    visual_tokens = int(visual_tokens or default_budget(patch))
    rng = np.random.default_rng([int(seed), 7])
    pool = {"examples": [], "clip": [], "task": [], "label": [], "kind": []}
    with progress_bar(len(clips), desc, progress) as bar:
        for ci, clip in enumerate(clips):
            drawn = []
            for task, count in tasks.items():
                for k in range(int(count)):
                    if task == "plain":
                        ex = plain_example(clip, rng, f"{clip['id']}-{k}", first=k == 0, dataset=dataset)
                    elif task == "classify":
                        ex = classify_example(clip, rng, f"{clip['id']}-{k}", visual_tokens, context_share,
                                              dataset=dataset)
                    elif task == "caption":
                        ex = caption_example(clip, rng, visual_tokens, dataset=dataset)
                    else:
                        ex = motion_example(clip, rng, visual_tokens)
                    drawn.append(ex)
            if not drawn:
                continue
            union = np.unique(np.concatenate([np.asarray(ex["indices"], dtype=np.int64) for ex in drawn]))
            frames = clip_frames(clip, union)
            for ex in drawn:
                sel = frames[np.searchsorted(union, np.asarray(ex["indices"], dtype=np.int64))]
                enc = encode_example(processor, fit_budget(sel, visual_tokens, patch_size=patch), ex["prompt"],
                                     ex["answer"], indices=ex["indices"], clip_fps=clip["fps"],
                                     clip_num_frames=clip["num_frames"])
                pool["examples"].append(enc)
                pool["clip"].append(ci)
                pool["task"].append(ex["task"])
                pool["label"].append(clip["label"])
                pool["kind"].append(clip["kind"])
            bar.update(1)
    pool["clip"] = np.asarray(pool["clip"])
    return pool


# --- training -----------------------------------------------------------------------------------------------------

TRAIN_DEFAULTS = {
    "stage": "pretrain",  # "pretrain" (the web stage) or "finetune" (closed-set answers on a training split)
    "prior_power": 1.0,  # pretrain: class draws p(c) ∝ word frequency ** prior_power (emoprobe.lexicon.prior)
    "prior_form": "all",  # lexicon form: every word naming the concept (happy, happiness, joy, glad, ...)
    "task_weights": {"plain": 0.4, "classify": 0.3, "caption": 0.2, "motion": 0.1},  # names of TASK_GROUPS
    "tasks_per_clip": {"plain": 2, "classify": 1, "caption": 1, "motion": 1},
    # micro clips' weight ramps 0 -> 1 between these fractions of the run; None: clear expressions only
    "micro_curriculum": [0.2, 0.6],
    "class_sampler": "instance",  # finetune: emoprobe.samplers.classes name
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


def finetune_plan(pool: dict, cfg: dict, seed: int) -> tuple[list[np.ndarray], dict]:
    """Example indices per step: clips drawn epoch by epoch with the class sampler, one example per draw."""
    from emoprobe.samplers.classes import make_class_sampler

    sampler = make_class_sampler(cfg["class_sampler"])
    clip_of = pool["clip"]
    n_clips = int(clip_of.max()) + 1
    clip_labels = np.empty(n_clips, dtype=object)
    for i, c in enumerate(clip_of):
        clip_labels[c] = pool["label"][i]
    examples_of = [np.flatnonzero(clip_of == c) for c in range(n_clips)]
    steps, bs = int(cfg["steps"]), int(cfg["batch_size"])
    num_epochs = max(1, math.ceil(steps * bs / n_clips))
    rng = np.random.default_rng([int(seed), 13])
    draws, drawn_counts = [], []
    for epoch in range(num_epochs):
        idx = sampler.sample_epoch(list(clip_labels), epoch=epoch, num_epochs=num_epochs, size=n_clips, seed=seed)
        drawn_counts.append({k: int(v) for k, v in zip(*np.unique(clip_labels[idx].astype(str), return_counts=True))})
        draws.extend(int(i) for i in idx)
    draws = draws[:steps * bs]
    picks = [examples_of[c][int(rng.integers(len(examples_of[c])))] for c in draws]
    plan = [np.asarray(picks[s * bs:(s + 1) * bs]) for s in range(steps)]
    return plan, {"class_sampler": sampler.name, "num_epochs": num_epochs, "drawn_class_counts": drawn_counts}


def train_probe_vlm(pool: dict, config: dict | None = None, seed: int = 0, init: ProbeVLM | str | Path | None = None,
                    progress: bool = True) -> dict:
    """Train the probe VLM on a pre-processed ``pool``; return ``{"model": ProbeVLM, "history": {...}}``.

    ``stage="pretrain"`` draws examples with the word-frequency prior (and the micro curriculum);
    ``stage="finetune"`` draws clips with a class sampler. ``init`` (a ProbeVLM or a saved folder) starts from
    trained weights (full fine-tuning: every parameter is updated); otherwise a fresh model from ``seed``.
    """
    cfg = split_config(config, TRAIN_DEFAULTS)
    settings = seed_everything(seed, deterministic=cfg["deterministic"], num_threads=cfg["num_threads"])
    if init is None:
        vlm = build(seed=seed, **cfg["model"])
    elif isinstance(init, ProbeVLM):
        vlm = init
    else:
        vlm = ProbeVLM.from_pretrained(init)
    if cfg["stage"] == "pretrain":
        plan, extra = pretrain_plan(pool, cfg, seed), {}
    elif cfg["stage"] == "finetune":
        plan, extra = finetune_plan(pool, cfg, seed)
    else:
        raise ValueError(f"stage must be 'pretrain' or 'finetune', got {cfg['stage']!r}")
    pad = vlm.processor.tokenizer.pad_token_id
    examples = pool["examples"]

    def next_batch(step):
        return collate([examples[i] for i in plan[step]], pad)

    optim = {k: cfg[k] for k in OPTIMIZER_DEFAULTS}
    optim["warmup_steps"] = min(int(cfg["warmup_steps"]), max(1, int(cfg["steps"]) // 10))
    vlm.model.train()
    history = fit(vlm.model, next_batch, int(cfg["steps"]), progress=progress, desc=f"probe-vlm {cfg['stage']}",
                  **optim)
    vlm.model.eval()
    drawn = np.concatenate(plan)
    labels = np.asarray(pool["label"])[drawn]
    history.update({
        "seed": int(seed), "stage": cfg["stage"], "settings": settings, "num_parameters": vlm.num_parameters(),
        "pool_examples": len(examples), "pool_clips": int(pool["clip"].max()) + 1,
        "drawn_label_share": {k: round(float(v) / len(labels), 5) for k, v in zip(*np.unique(labels, return_counts=True))},
        "drawn_task_share": {k: round(float(v) / len(drawn), 5)
                             for k, v in zip(*np.unique(np.asarray(pool["task"])[drawn], return_counts=True))},
        "drawn_micro_share": round(float(np.mean(np.asarray(pool["kind"])[drawn] == "micro")), 5),
        **extra,
    })
    vlm.info = {"stage": cfg["stage"], "seed": int(seed), "prior_power": cfg["prior_power"],
                "class_sampler": cfg["class_sampler"] if cfg["stage"] == "finetune" else None}
    return {"model": vlm, "history": history}


__all__ = ["MODEL_DEFAULTS", "TRAIN_DEFAULTS", "VISUAL_TOKENS", "ProbeVLM", "budget_indices", "build",
           "build_pool", "build_processor", "build_tokenizer", "collate", "encode_example", "encode_prompt",
           "fit_budget", "frame_side", "timeline_clips", "train_probe_vlm", "visual_tokens_of"]
