"""The training caches' code fingerprints: edits that cannot change a model keep its key, edits that can change it.

Each test edits a copy of the package (never the installed one) and compares the fingerprint of the zoo's
trainers, as emoprobe.probe.zoo.training_code computes it, before and after.
"""

import shutil

import pytest

from emoprobe.codehash import PACKAGE_ROOT, code_fingerprint, reached_code, string_constants
from emoprobe.probe import zoo


TRAINERS = {kind: zoo.KINDS[kind].trainer for kind in zoo.KINDS}  # base, pretrain, describer, reader, finetune, videomae


@pytest.fixture()
def package(tmp_path):
    root = tmp_path / "emoprobe"
    shutil.copytree(PACKAGE_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def fingerprints(root, name="vlm-prior1"):
    """{model kind: fingerprint} of the zoo's trainers under ``root``, with a real model config's strings."""
    cfg = zoo.config(name, "smoke")
    return {kind: code_fingerprint([trainer], constants=string_constants(cfg), exclude=zoo.NOT_FOLLOWED, root=root)
            for kind, trainer in TRAINERS.items()}


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_copy_fingerprints_like_the_package(package):
    assert fingerprints(package) == fingerprints(PACKAGE_ROOT)


@pytest.mark.parametrize("change", ["docstring", "comment", "new sampler", "unrelated module", "chapter helper",
                                    "function moved to another module", "another kind's config"])
def test_edits_that_cannot_change_a_model_keep_its_key(package, change):
    before = fingerprints(package)
    if change == "another kind's config":  # the VLM stages' config writer and a new model entry
        edit(package / "probe" / "zoo.py", '"model": plain(prof.model) if base else {}}',
             '"model": plain(prof.model) if base else {}, "note": 1}')
        edit(package / "probe" / "zoo.py", 'MODELS: dict[str, dict] = {',
             'MODELS: dict[str, dict] = {\n    "vlm-new": {"kind": "pretrain", "init": "vlm-base", "prior_power": 3.0},')
        before = {k: v for k, v in before.items() if k in ("finetune", "videomae")}
        after = fingerprints(package)
        assert {k: after[k] for k in before} == before
        return
    if change == "docstring":
        edit(package / "probe" / "zoo.py", '"""The full training config of a named model',
             '"""The complete training config of a named model')
        edit(package / "probe" / "vlm" / "build.py", '"""A freshly initialised probe VLM', '"""A new probe VLM')
    elif change == "comment":
        edit(package / "probe" / "zoo.py", "# What a model's cache key covers", "# What the cache key of a model covers")
        edit(package / "probe" / "profiles.py", "# Distractors of every probe clip", "# Nuisances of every probe clip")
    elif change == "new sampler":
        with open(package / "samplers" / "temporal.py", "a") as f:
            f.write('\n\n@register("dense_centered_test")\nclass DenseCentered(Uniform):\n    pass\n')
    elif change == "unrelated module":
        with open(package / "evaluate.py", "a") as f:
            f.write("\n\ndef helper_for_a_chapter():\n    return 42\n")
    elif change == "function moved to another module":  # a refactoring: the same code, reached the same way
        training = package / "probe" / "training.py"
        text = training.read_text()
        start = text.index("def warmup_cosine(")
        end = text.index("\ndef ", start + 1)
        (package / "probe" / "lr_schedule.py").write_text("import math\n\n\n" + text[start:end])
        training.write_text(text[:start] + text[end:] + "\n\nfrom emoprobe.probe.lr_schedule import warmup_cosine\n")
    else:
        with open(package / "findings.py", "a") as f:
            f.write("\n\nTHRESHOLD = 0.5\n")
    assert fingerprints(package) == before


@pytest.mark.parametrize("change", ["generator", "sampler in use", "class sampler in use", "optimiser", "prompt"])
def test_edits_that_can_change_a_model_change_its_key(package, change):
    before = fingerprints(package, "vlm-ft-balanced")
    kinds = set(TRAINERS)
    if change == "generator":  # the rendered pixels of every pool
        edit(package / "data" / "synth" / "crop.py", "RENDER_SIZE = ", "RENDER_SIZE = 1 + ")
    elif change == "sampler in use":  # both trainers draw frames with segment_random
        edit(package / "samplers" / "temporal.py", '@register("segment_random")',
             '@register("segment_random")\n@staticmethod')
    elif change == "class sampler in use":  # the config names "balanced"
        edit(package / "samplers" / "classes.py", '@register("balanced")', '@register("balanced")\n@staticmethod')
        kinds = {"finetune"}  # the VLM stages before it draw by word prior, not by class sampler
    elif change == "optimiser":  # the pretraining stages' rule; emoprobe.finetune takes its settings from its config
        edit(package / "probe" / "training.py", '"clip_grad": 1.0', '"clip_grad": 2.0')
        kinds = {"base", "pretrain", "describer", "reader"}
    else:  # the question the VLM is trained on; VideoMAE reads no prompt
        edit(package / "prompts.py", '           context=None) -> dict:\n',
             '           context=None) -> dict:\n    labels = list(labels)[::-1]\n')
        kinds = {"base", "pretrain", "describer", "reader", "finetune"}
    after = fingerprints(package, "vlm-ft-balanced")
    changed = {k for k in after if after[k] != before[k]}
    assert changed >= kinds
    if change == "prompt":
        assert changed == kinds


def test_registered_units_follow_the_strings_that_name_them():
    reached = reached_code([TRAINERS["finetune"]], constants={"progressive"}, exclude=zoo.NOT_FOLLOWED)
    assert "emoprobe.samplers.classes:Progressive" in reached
    assert "emoprobe.samplers.classes:Progressive" not in reached_code([TRAINERS["videomae"]],
                                                                       exclude=zoo.NOT_FOLLOWED)
    # the fine-tunes run the engine's fine-tuning code, so they reach the backend it builds, not the eval loop
    assert "emoprobe.evaluate:_make_backend" in reached and "emoprobe.evaluate:evaluate" not in reached
    pretrain = reached_code([TRAINERS["pretrain"]], exclude=zoo.NOT_FOLLOWED)
    assert "emoprobe.samplers.temporal:SegmentRandom" in pretrain  # named by a string in the training code
    assert not any(k.startswith("emoprobe.evaluate:") for k in pretrain)
    assert not any(k.startswith("emoprobe.samplers.classes:") for k in pretrain)
    assert all(not text.lstrip().startswith(('"""', "#")) for text in reached.values())


def test_a_root_that_does_not_exist_is_an_error():
    with pytest.raises(ValueError, match="not a top-level definition"):
        reached_code(["emoprobe.probe.zoo:no_such_function"])


def test_string_constants_of_a_config():
    assert string_constants({"a": ["x", {"b": "y"}], "n": 3}) == {"a", "x", "b", "y", "n"}
