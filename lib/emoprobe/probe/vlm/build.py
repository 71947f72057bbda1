"""Building the probe VLM: tokenizer, processor and model, and ``ProbeVLM``, which saves them into one folder.

What is built (``build``): a byte-level BPE tokenizer trained here with ``tokenizers`` on the probe's own text
(`emoprobe.probe.corpus.tokenizer_corpus`: every prompt, the label words of DFEW/MAFW/FERV39k, captions,
motion phrases) plus the eight Qwen2-VL special tokens; Qwen's chat template; the official
``Qwen2VLProcessor`` with explicit pixel limits; and a Qwen2-VL of about 0.3 M parameters in the shape of
``MODEL_DEFAULTS`` (emoprobe.probe.vlm.budget: vision patch 14, embed 64, depth 2; LM hidden 64, 2 layers, 4
heads, 2 KV heads, ``mrope_section`` [2, 3, 3], which must sum to head_dim / 2; why each value, in the book's
probe-models chapter). ``ProbeVLM.save_pretrained`` writes model, processor and generation config (eos ``<|im_end|>``, pad
``<|endoftext|>``, left padding) into ONE folder, so ``emoprobe.vlm.hf.HFBackend(model=folder)`` loads it
exactly as it loads a hub checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch

from emoprobe.probe import corpus
from emoprobe.probe.vlm.budget import MERGE, MODEL_DEFAULTS, TEMPORAL_PATCH, token_unit


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


__all__ = ["MODEL_DEFAULTS", "ProbeVLM", "build", "build_processor", "build_tokenizer", "split_config"]
