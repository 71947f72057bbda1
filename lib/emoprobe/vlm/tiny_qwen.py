"""Tiny random-weight Qwen2.5-VL, Qwen3-VL and Qwen2.5-Omni (thinker) checkpoints, built offline.

Same contract as `emoprobe.vlm.tiny` (which registers these builders in ``TINY_BUILDERS``): a folder that
loads like the hub checkpoint, with the official processor classes, explicit small pixel limits, and a chat
template that writes the family's own placeholders. What differs between the three, and why it matters here:

- Qwen2.5-VL reads the sampled fps from the video metadata (``second_per_grid_ts``) and uses windowed
  attention in its vision tower, so the tiny tower keeps one full-attention block and a window.
- Qwen3-VL has patch 16 (32-px tokens), bounds the pixels of the *whole* video, samples by itself at 2 fps
  unless told not to, and writes ``<t seconds>`` text before each frame pair from the metadata.
- Qwen2.5-Omni's thinker is Qwen2.5-VL's vision rule behind other placeholder names (``<|vision_bos|>``,
  ``<|VIDEO|>``), plus an audio encoder and a Whisper feature extractor that video without audio never uses
  but the processor cannot be built without.
"""

from __future__ import annotations

from pathlib import Path

from emoprobe.vlm.tiny import QWEN_SPECIAL, _fast_tokenizer, _finish, _seed, _train_tokenizer

__all__ = ["tiny_qwen2_5_vl", "tiny_qwen3_vl", "tiny_qwen2_5_omni", "QWEN2_5_CHAT_TEMPLATE",
           "QWEN3_CHAT_TEMPLATE", "OMNI_SPECIAL", "OMNI_CHAT_TEMPLATE"]

# The Qwen2/2.5-VL hub template: a default system turn, then the vision placeholders in content order.
QWEN2_5_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' or 'image' in c or 'image_url' in c %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' or 'video' in c %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in c %}{{ c['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# The Qwen3-VL hub template without tools and thinking: no default system turn, same placeholders (the
# processor expands each video into per-frame-pair "<t seconds><|vision_start|>...<|vision_end|>" runs).
QWEN3_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' or 'image' in c or 'image_url' in c %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' or 'video' in c %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in c %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Qwen2.5-Omni's special tokens, in the hub order (ids 151643..151656 there).
OMNI_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>",
                "<|vision_bos|>", "<|vision_eos|>", "<|vision_pad|>", "<|IMAGE|>", "<|VIDEO|>"]
# The processor reads its placeholders from these named tokenizer attributes (image_token, ...).
OMNI_NAMED = {"image_token": "<|IMAGE|>", "video_token": "<|VIDEO|>", "audio_token": "<|AUDIO|>",
              "vision_bos_token": "<|vision_bos|>", "vision_eos_token": "<|vision_eos|>",
              "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>"}

# The Qwen2.5-Omni hub template (Qwen/Qwen2.5-Omni-7B chat_template.json), add_*_id options left out.
OMNI_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' or 'image' in c or 'image_url' in c %}<|vision_bos|><|IMAGE|><|vision_eos|>"
    "{% elif c['type'] == 'audio' or 'audio' in c or 'audio_url' in c %}<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif c['type'] == 'video' or 'video' in c %}<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _tokenizer(special: list[str], **named):
    """A byte-level BPE tokenizer with Qwen's end and pad tokens, and the ids of its special tokens."""
    tokenizer = _fast_tokenizer(_train_tokenizer(special, vocab_size=400), eos_token="<|im_end|>",
                                pad_token="<|endoftext|>", **({"extra_special_tokens": named} if named else {}))
    return tokenizer, {t: tokenizer.convert_tokens_to_ids(t) for t in special}


def _mrope(head_dim: int) -> list[int]:
    """Temporal/height/width split of the rotary half-dimension; it must sum to head_dim / 2 or the LM fails
    at the first video. The hub splits 64 as 16/24/24 (Qwen2.5) or 24/20/20 (Qwen3); this keeps time largest."""
    half = head_dim // 2
    return [half - 2 * (half // 3), half // 3, half // 3]


def _text(tokenizer, ids, hidden: int, theta: float, **extra) -> dict:
    """One-layer Qwen2-style LM config with grouped-query attention (2 heads, 1 key/value head)."""
    heads = 2
    return dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=1,
                num_attention_heads=heads, num_key_value_heads=1, max_position_embeddings=4096,
                bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
                rope_parameters={"rope_type": "default", "rope_theta": theta,
                                 "mrope_section": _mrope(hidden // heads), **extra})


def _generation(ids) -> dict:
    return dict(eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"])


def _qwen2_processors(patch_size: int, min_pixels: int, max_pixels: int, **video):
    """Qwen2VL image and video processors with per-frame pixel bounds (Qwen2.5-VL and Omni load these)."""
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    grid = dict(size=size, patch_size=patch_size, merge_size=2, temporal_patch_size=2)
    return (Qwen2VLImageProcessor(**grid),
            Qwen2VLVideoProcessor(**grid, cap_pixels_per_frame=False, do_sample_frames=False, **video))


def _folder(folder) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def tiny_qwen2_5_vl(folder, seed: int = 0, hidden: int = 32, patch_size: int = 14,
                    min_pixels: int = 28 * 28, max_pixels: int = 56 * 56) -> Path:
    """A Qwen2.5-VL with hidden 32, one LM layer and a one-block vision tower.

    Same pixel rule as the tiny Qwen2-VL (a 56x56 frame stays 56x56: 2x2 tokens per frame pair, i.e. 2 per
    frame). The vision block is a full-attention block (``fullatt_block_indexes=[0]``) with the hub's 112-px
    window, so the windowed-attention index bookkeeping runs; ``tokens_per_second=2`` is the hub value that
    turns the metadata's sampled fps into temporal position ids.
    """
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor

    folder = _folder(folder)
    tokenizer, ids = _tokenizer(QWEN_SPECIAL)
    config = Qwen2_5_VLConfig(
        text_config=_text(tokenizer, ids, hidden, theta=1000000.0),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden,
                           patch_size=patch_size, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[0], tokens_per_second=2),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    _seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    image, video = _qwen2_processors(patch_size, min_pixels, max_pixels)
    processor = Qwen2_5_VLProcessor(image_processor=image, video_processor=video, tokenizer=tokenizer,
                                    chat_template=QWEN2_5_CHAT_TEMPLATE)
    return _finish(model, processor, folder, _generation(ids))


def tiny_qwen3_vl(folder, seed: int = 0, hidden: int = 32, patch_size: int = 16,
                  min_pixels: int = 2 * 32 * 32, max_pixels: int = 16 * 64 * 64) -> Path:
    """A Qwen3-VL with hidden 32 (head_dim 16), one LM layer, a one-block vision tower and one deepstack level.

    Patch 16 with merge 2 makes a token 32x32 px, so a 56x56 frame is resized to 64x64: 2x2 tokens per
    frame pair (2 per frame). ``min_pixels``/``max_pixels`` bound t*h*w of the whole clip as in the hub
    video_preprocessor_config.json; 16 frames of 64x64 still fit. The video processor keeps the hub's own
    2 fps sampling switched on (``do_sample_frames`` default), so a caller that forgets to switch it off is
    caught by a changed token count. ``cap_pixels_per_frame=False`` is the current transformers behaviour,
    stated so the processor does not warn. The 16 learned position embeddings are a 4x4 grid the tower
    interpolates, like the hub's 48x48.
    """
    from transformers import (Qwen2VLImageProcessor, Qwen3VLConfig, Qwen3VLForConditionalGeneration,
                              Qwen3VLProcessor, Qwen3VLVideoProcessor)

    folder = _folder(folder)
    tokenizer, ids = _tokenizer(QWEN_SPECIAL)
    text = _text(tokenizer, ids, hidden, theta=5000000.0, mrope_interleaved=True)
    text["head_dim"] = hidden // 2
    config = Qwen3VLConfig(
        text_config=text,
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden,
                           patch_size=patch_size, spatial_merge_size=2, temporal_patch_size=2,
                           num_position_embeddings=16, deepstack_visual_indexes=[0]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    _seed(seed)
    model = Qwen3VLForConditionalGeneration(config).eval()
    size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    grid = dict(patch_size=patch_size, merge_size=2, temporal_patch_size=2)
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(size={"shortest_edge": 32 * 32, "longest_edge": 64 * 64}, **grid),
        video_processor=Qwen3VLVideoProcessor(size=size, cap_pixels_per_frame=False, **grid),
        tokenizer=tokenizer, chat_template=QWEN3_CHAT_TEMPLATE)
    return _finish(model, processor, folder, _generation(ids))


def _whisper_features(num_mel_bins: int):
    """A WhisperFeatureExtractor with few mel bins and a 30 s window (the hub one: 128 bins, 300 s).

    Qwen2_5OmniProcessor requires a feature extractor; with video-only inputs it is never called."""
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=num_mel_bins, sampling_rate=16000, hop_length=160, chunk_length=30,
                                   n_fft=400, padding_value=0.0, return_attention_mask=True)


def tiny_qwen2_5_omni(folder, seed: int = 0, hidden: int = 32, patch_size: int = 14,
                      min_pixels: int = 28 * 28, max_pixels: int = 56 * 56, num_mel_bins: int = 16) -> Path:
    """The thinker of a Qwen2.5-Omni (text out, no talker): hidden 32, one LM layer, one-block vision tower
    and a one-layer audio encoder, saved as ``model_type`` qwen2_5_omni_thinker.

    The video processor stores the same small limits as the tiny Qwen2.5-VL, but, exactly as with the hub
    checkpoint, Qwen2_5OmniProcessor's own default (128..768 tokens of 28 px per frame) overrides them on
    every call that does not pass ``size``: a 56 px frame is then upscaled to 336x336 (12x12 tokens per
    frame pair). The registry spec passes its pixel limits explicitly, and the fixed-budget condition passes
    the kept size, so both are honoured. The processor reads the sampled fps from the call (``pass_fps``).
    """
    from transformers import (Qwen2_5OmniProcessor, Qwen2_5OmniThinkerConfig,
                              Qwen2_5OmniThinkerForConditionalGeneration)

    folder = _folder(folder)
    tokenizer, ids = _tokenizer(OMNI_SPECIAL, **OMNI_NAMED)
    user = tokenizer("user")["input_ids"][0]  # the talker's turn marker (hub: the "user" token)
    config = Qwen2_5OmniThinkerConfig(
        text_config=_text(tokenizer, ids, hidden, theta=1000000.0),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden,
                           patch_size=patch_size, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[0]),
        audio_config=dict(num_mel_bins=num_mel_bins, encoder_layers=1, encoder_attention_heads=2,
                          encoder_ffn_dim=2 * hidden, d_model=hidden, output_dim=hidden, max_source_positions=1500),
        audio_token_index=ids["<|AUDIO|>"], image_token_index=ids["<|IMAGE|>"], video_token_index=ids["<|VIDEO|>"],
        audio_start_token_id=ids["<|audio_bos|>"], audio_end_token_id=ids["<|audio_eos|>"],
        vision_start_token_id=ids["<|vision_bos|>"], vision_end_token_id=ids["<|vision_eos|>"],
        user_token_id=user,
    )
    _seed(seed)
    model = Qwen2_5OmniThinkerForConditionalGeneration(config).eval()
    image, video = _qwen2_processors(patch_size, min_pixels, max_pixels)
    processor = Qwen2_5OmniProcessor(image_processor=image, video_processor=video,
                                     feature_extractor=_whisper_features(num_mel_bins), tokenizer=tokenizer,
                                     chat_template=OMNI_CHAT_TEMPLATE)
    return _finish(model, processor, folder, _generation(ids))
