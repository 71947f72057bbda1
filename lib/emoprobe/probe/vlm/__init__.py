"""The probe VLM: a tiny, real ``Qwen2VLForConditionalGeneration`` (about 0.3 M parameters) built and trained on
CPU and saved into one folder that ``emoprobe.vlm.hf.HFBackend`` loads exactly as it loads a hub checkpoint.

emoprobe.probe.zoo builds it, pretrains it here (a warm-up, then the "web" stage under a word-frequency prior)
and fine-tunes it with emoprobe.finetune, the code that fine-tunes a real VLM. One module per job:

- ``budget``: the visual-token budget (the frame side and the frame count a budget allows, the resize to it),
  and the model defaults it is counted in (``MODEL_DEFAULTS``).
- ``build``: the tokenizer, the processor and the model (``build``); ``ProbeVLM``, model and processor saved
  together.
- ``encode``: one (frames, prompt, answer) example through the processor as HFBackend sends it; batches.
- ``examples``: training examples drawn from probe clips: the evaluation's question, closed-set questions
  (some with MSCE motion text), captions and open answers, motion descriptions.
- ``pools``: pools of pre-processed examples, rendering only the frames the examples sample.
- ``train``: the pretraining stage: the step plan (prior, task weights, micro curriculum) and the loop.

The package imports none of its modules (nor torch): import the one you need, e.g.
``from emoprobe.probe.vlm.build import build``.
"""
