"""Tiny random-weight VLMs with real architectures, built offline, for tests and the offline rehearsal.

Each builder writes a folder that `transformers` loads exactly like a hub checkpoint (config, safetensors
weights, a tokenizer trained here with the `tokenizers` library, the official processor classes with explicit
pixel limits, and a chat template that writes the family's own placeholder tokens), so `emoprobe.vlm.hf` and
`transformers serve` exercise the same code path they use for the 7B checkpoints. The weights are random: the
text they generate is noise, but it is deterministic, and the visual-token bookkeeping is the real one. That
is why the book's offline ``rehearsal`` profile runs the paper profile's exact code path on these models
(``tiny:<family>`` in `emoprobe.sources`): every step runs, no number it prints means anything.

One builder per budget family of `emoprobe.budget` (`TINY_BUILDERS`): Qwen2-VL and LLaVA-NeXT-Video here,
Qwen2.5-VL, Qwen3-VL and Qwen2.5-Omni in `emoprobe.vlm.tiny_qwen`, InternVL3, Video-LLaVA and LLaVA-OneVision
in `emoprobe.vlm.tiny_llava`; they share the tokenizer, seeding and saving helpers below.

Facts behind the settings: Qwen's ``mrope_section`` must sum to head_dim / 2; the default image/video
processor sizes upscale small frames, so min/max pixels are set explicitly; eos is ``<|im_end|>`` and pad
``<|endoftext|>`` with left padding.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from emoprobe.registry import Registry

__all__ = ["TINY_BUILDERS", "build_tiny", "tiny_qwen2_vl", "tiny_llava_next_video", "TINY_CORPUS"]

# Text the tokenizer is trained on: the words our prompts and answers use, so a prompt tokenizes into a
# few dozen tokens instead of hundreds of single bytes.
TINY_CORPUS = [
    "What is the emotional state of the person in this video? Answer with one word.",
    "Choose one label from the list: angry, disgust, fear, happy, neutral, sad, surprise.",
    "anger anxiety contempt disappointment disgust fear happiness helplessness neutral sadness surprise",
    "The video was sampled at 2 frames per second. Frames at 0.0, 0.5, 1.0 seconds.",
    "Rank the emotions from most to least likely, separated by commas.",
    "Answer: happy. Answer: sad. The person looks surprised and then smiles.",
    "system user assistant You are a helpful assistant.",
]

QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]

QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' or 'image' in c or 'image_url' in c %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' or 'video' in c %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

LLAVA_SPECIAL = ["<pad>", "<s>", "</s>", "<unk>", "<image>", "<video>"]

LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' or 'image_url' in c %}<image>\n"
    "{% elif c['type'] == 'video' %}<video>\n"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{% if message['role'] != 'user' %}</s>{% endif %} {% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def _train_tokenizer(special: list[str], vocab_size: int, unk: str | None = None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=unk) if unk else models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(TINY_CORPUS, trainer=trainer)
    return tok


def _fast_tokenizer(tok, **special):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tok, padding_side="left", **special)


def clip_vision(hidden: int, image_size: int, patch_size: int) -> dict:
    """The tiny CLIP vision tower of the LLaVA families (two layers)."""
    return dict(model_type="clip_vision_model", hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
                num_attention_heads=2, image_size=image_size, patch_size=patch_size, projection_dim=hidden)


def llama_text(hidden: int, vocab_size: int, ids: dict) -> dict:
    """The tiny Llama language model of the LLaVA families (one layer), with LLaVA's special token ids."""
    return dict(model_type="llama", vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                bos_token_id=ids["<s>"], eos_token_id=ids["</s>"], pad_token_id=ids["<pad>"])


def _seed(seed: int):
    import torch

    torch.manual_seed(seed)


def _finish(model, processor, folder: Path, generation: dict):
    from transformers import GenerationConfig

    model.generation_config = GenerationConfig(do_sample=False, **generation)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    # a marker so nobody mistakes the folder for a trained model (tests and the rehearsal only, never scores)
    (folder / "EMOPROBE_TINY.json").write_text(json.dumps({"random_weights": True, "tests_only": True}) + "\n")
    return folder


def tiny_qwen2_vl(folder, seed: int = 0, hidden: int = 32, patch_size: int = 14,
                  min_pixels: int = 28 * 28, max_pixels: int = 56 * 56) -> Path:
    """A Qwen2-VL with hidden 32, one LM layer and vision depth 1 (about 0.1 M parameters).

    With the default limits a 56x56 frame stays 56x56 (2x2 tokens per frame pair), a 112x112 frame shrinks
    to 56x56, and a 20x20 frame grows to 28x28.
    """
    import torch  # noqa: F401  (builders need torch; imported here so the module imports without it)
    from transformers import (Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor,
                              Qwen2VLProcessor, Qwen2VLVideoProcessor)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = _train_tokenizer(QWEN_SPECIAL, vocab_size=400)
    tokenizer = _fast_tokenizer(tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    heads = 2
    head_dim = hidden // heads
    # mrope_section sums to head_dim / 2
    half = head_dim // 2
    mrope = [half - 2 * (half // 3), half // 3, half // 3]
    config = Qwen2VLConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=1, num_attention_heads=heads, num_key_value_heads=1,
                         max_position_embeddings=4096, bos_token_id=ids["<|endoftext|>"],
                         eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope}),
        vision_config=dict(depth=1, embed_dim=32, hidden_size=hidden, mlp_ratio=2, num_heads=2,
                           patch_size=patch_size, spatial_merge_size=2, temporal_patch_size=2),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    _seed(seed)
    model = Qwen2VLForConditionalGeneration(config).eval()
    size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=size, patch_size=patch_size, merge_size=2, temporal_patch_size=2),
        video_processor=Qwen2VLVideoProcessor(size=size, patch_size=patch_size, merge_size=2, temporal_patch_size=2,
                                              cap_pixels_per_frame=False, do_sample_frames=False),
        tokenizer=tokenizer, chat_template=QWEN_CHAT_TEMPLATE)
    return _finish(model, processor, folder, dict(eos_token_id=ids["<|im_end|>"],
                                                  pad_token_id=ids["<|endoftext|>"],
                                                  bos_token_id=ids["<|endoftext|>"]))


def tiny_llava_next_video(folder, seed: int = 0, hidden: int = 32, image_size: int = 56,
                          patch_size: int = 14) -> Path:
    """A LLaVA-NeXT-Video (CLIP vision tower + Llama LM), hidden 32, one layer each.

    Frames are resized to ``image_size`` on the shortest edge and centre-cropped square, like the 336-px
    checkpoint; with 56 px and patch 14 a frame is 4x4 patches, average-pooled to 2x2 = 4 tokens.
    """
    from transformers import (LlavaNextImageProcessor, LlavaNextVideoConfig, LlavaNextVideoForConditionalGeneration,
                              LlavaNextVideoProcessor, LlavaNextVideoVideoProcessor)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = _train_tokenizer(LLAVA_SPECIAL, vocab_size=400)
    tokenizer = _fast_tokenizer(tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in LLAVA_SPECIAL}
    config = LlavaNextVideoConfig(
        vision_config=clip_vision(hidden, image_size, patch_size),
        text_config=llama_text(hidden, len(tokenizer), ids),
        image_token_index=ids["<image>"], video_token_index=ids["<video>"],
        vision_feature_layer=-1, vision_feature_select_strategy="default",
        image_grid_pinpoints=[[image_size, image_size]], spatial_pool_stride=2,
        image_seq_length=(image_size // patch_size) ** 2,
        video_seq_length=(image_size // patch_size) ** 2 // 4,
    )
    _seed(seed)
    model = LlavaNextVideoForConditionalGeneration(config).eval()
    crop = {"height": image_size, "width": image_size}
    processor = LlavaNextVideoProcessor(
        video_processor=LlavaNextVideoVideoProcessor(size={"shortest_edge": image_size}, crop_size=crop,
                                                     do_sample_frames=False),
        image_processor=LlavaNextImageProcessor(size={"shortest_edge": image_size}, crop_size=crop,
                                                image_grid_pinpoints=[[image_size, image_size]]),
        tokenizer=tokenizer, chat_template=LLAVA_CHAT_TEMPLATE, patch_size=patch_size,
        vision_feature_select_strategy="default", num_additional_image_tokens=1)
    return _finish(model, processor, folder, dict(eos_token_id=ids["</s>"], pad_token_id=ids["<pad>"],
                                                  bos_token_id=ids["<s>"]))


# family -> builder(folder, seed=..., **params) -> folder; the one registry shape (emoprobe.registry)
TINY_BUILDERS = Registry("tiny builder")
TINY_BUILDERS.register("qwen2-vl", tiny_qwen2_vl)
TINY_BUILDERS.register("llava-next-video", tiny_llava_next_video)


def build_tiny(family: str, folder, seed: int = 0, **params) -> Path:
    """Build (or reuse, if ``folder`` already holds a finished build) the tiny model of ``family``."""
    builder = TINY_BUILDERS.get(family)
    folder = Path(folder)
    if (folder / "EMOPROBE_TINY.json").exists() and (folder / "config.json").exists():
        return folder
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return builder(folder, seed=seed, **params)


# The other families live in their own modules, which import the helpers above; registered last so the
# import finds this module complete.
from emoprobe.vlm.tiny_llava import tiny_internvl3, tiny_llava_onevision, tiny_video_llava  # noqa: E402
from emoprobe.vlm.tiny_qwen import tiny_qwen2_5_omni, tiny_qwen2_5_vl, tiny_qwen3_vl  # noqa: E402

for _family, _builder in {"qwen2.5-vl": tiny_qwen2_5_vl, "qwen3-vl": tiny_qwen3_vl, "qwen2.5-omni": tiny_qwen2_5_omni,
                          "internvl3": tiny_internvl3, "video-llava": tiny_video_llava,
                          "llava-onevision": tiny_llava_onevision}.items():
    TINY_BUILDERS.register(_family, _builder)
del _family, _builder
