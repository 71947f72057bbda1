"""Tiny random-weight InternVL3 (-hf layout), Video-LLaVA and LLaVA-OneVision checkpoints, built offline.

Same contract as `emoprobe.vlm.tiny` (which registers these builders in ``TINY_BUILDERS``). All three are
fixed-size families: every frame is resized to one square and costs the same number of visual tokens, so
what the tiny models keep from the hub checkpoints is the token rule, at 56 px with patch 14 (a 4x4 patch
grid instead of 32x32, 16x16 or 27x27):

- InternVL3: pixel shuffle 0.5 -> 2x2 = 4 ``<IMG_CONTEXT>`` tokens per frame, each frame written as
  ``FrameN: <img>...</img>`` by the processor;
- Video-LLaVA: every patch plus CLS -> 4x4 + 1 = 17 ``<video>`` tokens per frame;
- LLaVA-OneVision: bilinear pooling to ceil(4/2)^2 = 4 ``<video>`` tokens per frame, plus one newline token
  per video.
"""

from __future__ import annotations

from pathlib import Path

from emoprobe.vlm.tiny import LLAVA_SPECIAL, _fast_tokenizer, _finish, _seed, _train_tokenizer, clip_vision, llama_text

__all__ = ["tiny_internvl3", "tiny_video_llava", "tiny_llava_onevision", "INTERNVL_CHAT_TEMPLATE",
           "VIDEO_LLAVA_CHAT_TEMPLATE", "ONEVISION_CHAT_TEMPLATE"]

# InternVL3-*-hf: Qwen2.5 tokens plus the image markers; the processor finds them by these attribute names.
INTERNVL_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>"]
INTERNVL_NAMED = {"start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
                  "video_token": "<video>"}

# The template of transformers' InternVL -> HF conversion script (the -hf checkpoints ship it).
INTERNVL_CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{{ '<IMG_CONTEXT>\n' }}"
    "{% elif content['type'] == 'video' %}{{ '<video>\n' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{'<|im_end|>\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{'<|im_start|>assistant\n' }}{% endif %}"
)

# The llava-hf (Vicuna) template with the video loop: "USER: <video>\n... ASSISTANT:"; a system turn is
# written as plain text before the first role.
VIDEO_LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}"
    "{% endfor %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

ONEVISION_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"]

# llava-hf/llava-onevision-qwen2-*-ov-hf chat_template.json, generation markers left out.
ONEVISION_CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + ' '}}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\n' + content['text'] }}"
    "{% endfor %}{{'<|im_end|>'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _folder(folder) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _ids(tokenizer, special) -> dict:
    return {t: tokenizer.convert_tokens_to_ids(t) for t in special}


def _qwen2_text(tokenizer, ids, hidden: int) -> dict:
    """One-layer Qwen2 LM (the language model of InternVL3 and LLaVA-OneVision)."""
    return dict(model_type="qwen2", vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})


def _qwen_generation(ids) -> dict:
    return dict(eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"])


def tiny_internvl3(folder, seed: int = 0, hidden: int = 32, image_size: int = 56, patch_size: int = 14) -> Path:
    """An InternVL3 in the -hf layout (InternViT + MLP projector + Qwen2 LM), hidden 32, one layer each.

    Frames are squashed to ``image_size`` squared (no crop, as InternVLVideoProcessor does with the hub's
    448); pixel shuffle 0.5 turns the (image_size / patch)^2 patches into a quarter as many tokens, which is
    the ``image_seq_length`` the processor writes per frame (256 on the hub, 4 here).
    """
    from transformers import (GotOcr2ImageProcessor, InternVLConfig, InternVLForConditionalGeneration,
                              InternVLProcessor, InternVLVideoProcessor)

    folder = _folder(folder)
    tokenizer = _fast_tokenizer(_train_tokenizer(INTERNVL_SPECIAL, vocab_size=400), eos_token="<|im_end|>",
                                pad_token="<|endoftext|>", extra_special_tokens=INTERNVL_NAMED)
    ids = _ids(tokenizer, INTERNVL_SPECIAL)
    seq = ((image_size // patch_size) // 2) ** 2
    config = InternVLConfig(
        vision_config=dict(hidden_size=hidden, num_hidden_layers=1, num_attention_heads=2, intermediate_size=2 * hidden,
                           image_size=[image_size, image_size], patch_size=[patch_size, patch_size],
                           use_mean_pooling=True, norm_type="layer_norm"),
        text_config=_qwen2_text(tokenizer, ids, hidden),
        image_token_id=ids["<IMG_CONTEXT>"], image_seq_length=seq, downsample_ratio=0.5,
        vision_feature_layer=-1, vision_feature_select_strategy="default", tie_word_embeddings=False,
    )
    _seed(seed)
    model = InternVLForConditionalGeneration(config).eval()
    square = {"height": image_size, "width": image_size}
    processor = InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(size=square, crop_to_patches=False, min_patches=1, max_patches=12),
        video_processor=InternVLVideoProcessor(size=square),
        tokenizer=tokenizer, image_seq_length=seq, chat_template=INTERNVL_CHAT_TEMPLATE)
    return _finish(model, processor, folder, _qwen_generation(ids))


def _with_bos(tok, bos: str, bos_id: int):
    """Prepend ``bos`` to every encoded text, as the hub's Llama tokenizer does (add_bos_token=True)."""
    from tokenizers import processors

    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                       special_tokens=[(bos, bos_id)])
    return tok


def tiny_video_llava(folder, seed: int = 0, hidden: int = 32, image_size: int = 56, patch_size: int = 14) -> Path:
    """A Video-LLaVA (CLIP image and video towers + Llama LM), hidden 32, two vision layers, one LM layer.

    Frames are resized to ``image_size`` on the shortest edge and centre-cropped square (224 px on the
    hub). Features come from the second-to-last vision layer (``vision_feature_layer=-2``, the hub value,
    hence two layers), and video keeps the CLS token: (image_size / patch)^2 + 1 tokens per frame, 8 frames
    per clip in training (``video_seq_length``).
    """
    from transformers import (VideoLlavaConfig, VideoLlavaForConditionalGeneration, VideoLlavaImageProcessor,
                              VideoLlavaProcessor, VideoLlavaVideoProcessor)

    folder = _folder(folder)
    tok = _train_tokenizer(LLAVA_SPECIAL, vocab_size=400)
    tok = _with_bos(tok, "<s>", tok.token_to_id("<s>"))
    tokenizer = _fast_tokenizer(tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    ids = _ids(tokenizer, LLAVA_SPECIAL)
    per_frame = (image_size // patch_size) ** 2 + 1
    config = VideoLlavaConfig(
        vision_config=clip_vision(hidden, image_size, patch_size),
        text_config=llama_text(hidden, len(tokenizer), ids),
        image_token_index=ids["<image>"], video_token_index=ids["<video>"], vision_feature_layer=-2,
        vision_feature_select_strategy="default", image_seq_length=per_frame - 1, video_seq_length=8 * per_frame,
    )
    _seed(seed)
    model = VideoLlavaForConditionalGeneration(config).eval()
    resize = dict(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size})
    processor = VideoLlavaProcessor(
        image_processor=VideoLlavaImageProcessor(**resize), video_processor=VideoLlavaVideoProcessor(**resize),
        tokenizer=tokenizer, patch_size=patch_size, vision_feature_select_strategy="default",
        num_additional_image_tokens=1, chat_template=VIDEO_LLAVA_CHAT_TEMPLATE)
    return _finish(model, processor, folder, dict(eos_token_id=ids["</s>"], pad_token_id=ids["<pad>"],
                                                  bos_token_id=ids["<s>"]))


def tiny_llava_onevision(folder, seed: int = 0, hidden: int = 32, image_size: int = 56,
                         patch_size: int = 14) -> Path:
    """A LLaVA-OneVision (SigLIP vision tower + Qwen2 LM), hidden 32, one layer each.

    Video frames are squashed to ``image_size`` squared (384 on the hub); the (image_size / patch)^2 patch
    grid is bilinearly pooled to half its side, and the processor adds one ``image_newline`` per video
    (``num_image_tokens`` is the unpooled grid, 729 on the hub). Images use the anyres grid with pinpoints
    at 1x and 2x the input size.
    """
    from transformers import (LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration,
                              LlavaOnevisionImageProcessor, LlavaOnevisionProcessor, LlavaOnevisionVideoProcessor)

    folder = _folder(folder)
    tokenizer = _fast_tokenizer(_train_tokenizer(ONEVISION_SPECIAL, vocab_size=400), eos_token="<|im_end|>",
                                pad_token="<|endoftext|>")
    ids = _ids(tokenizer, ONEVISION_SPECIAL)
    pinpoints = [[image_size * a, image_size * b] for a in (1, 2) for b in (1, 2)]
    config = LlavaOnevisionConfig(
        vision_config=dict(model_type="siglip_vision_model", hidden_size=hidden, intermediate_size=2 * hidden,
                           num_hidden_layers=1, num_attention_heads=2, image_size=image_size,
                           patch_size=patch_size, vision_use_head=False),
        text_config=_qwen2_text(tokenizer, ids, hidden),
        image_token_index=ids["<image>"], video_token_index=ids["<video>"], vision_feature_layer=-1,
        vision_feature_select_strategy="full", image_grid_pinpoints=pinpoints, vision_aspect_ratio="anyres_max_9",
    )
    _seed(seed)
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    square = {"height": image_size, "width": image_size}
    processor = LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=square, image_grid_pinpoints=pinpoints),
        video_processor=LlavaOnevisionVideoProcessor(size=square),
        tokenizer=tokenizer, num_image_tokens=(image_size // patch_size) ** 2, vision_feature_select_strategy="full",
        chat_template=ONEVISION_CHAT_TEMPLATE, vision_aspect_ratio="anyres_max_9")
    return _finish(model, processor, folder, _qwen_generation(ids))
