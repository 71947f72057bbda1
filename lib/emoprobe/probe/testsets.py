"""The probe's held-out test sets on disk, in the real layout of the profile's dataset.

A test set (emoprobe.probe.zoo.test_pool: balanced classes, the training distractors, other seeds) is
rendered once by the synth writers into the layout of DFEW (7-class probe) or MAFW (11 classes), with every
clip in fold 1's test list, and read back by the same loaders as the real releases (emoprobe.data.load). Frames
are the training pools' own: rendered at ``RENDER_SIZE``, face-cropped to 56 px (emoprobe.data.synth.crop) and
stored as PNG, which is lossless, so no model is tested on a compression it was not trained on. Each clip's
generator metadata (per-frame action units, the event's onset/apex/offset, the kind) is in ``probe_meta.jsonl``,
which the loaders expose as ``record["meta"]``.

Folders live in the model cache (``$EMOPROBE_CACHE_DIR/datasets``), keyed by the pool config and the writer
code, and are written to a temporary folder and renamed, so a killed run never leaves half a test set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from emoprobe.probe import zoo

__all__ = ["FOLD", "folder", "dataset_of", "pool"]

FOLD = 1  # every clip of a probe test set is in this fold's test list (of a training set, in its training list)
# the code a set's frames depend on besides its pool config (emoprobe.codehash)
WRITER = "emoprobe.probe.testsets:folder"
NOT_FOLLOWED = ("emoprobe.probe.testsets:pool",)  # returns the config, which the key holds as data


def pool(profile: str, test_set: str) -> dict:
    """The pool config of ``test_set``: a name of emoprobe.probe.zoo.TEST_SETS, or ``train`` (the fine-tunes'
    long-tailed training split), optionally ``@<dataset>`` to write it in another dataset's layout and label set
    (``test@mafw``: MAFW's 11 classes, balanced)."""
    name, _, layout = test_set.partition("@")
    # the training split is the pool the zoo's fine-tunes train on (a public config of the zoo)
    out = zoo.config("vlm-ft-instance", profile)["pool"] if name == "train" else zoo.test_pool(profile, name)
    if layout:
        if layout not in ("dfew", "mafw"):
            raise ValueError(f"test set {test_set!r}: expected a layout of dfew or mafw after '@', got {layout!r}")
        out = {**out, "dataset": layout}
    return out


def dataset_of(profile: str, test_set: str = "test") -> str:
    """The dataset (layout and label set) a probe test set is written as."""
    return pool(profile, test_set)["dataset"]


def _key(config: dict) -> str:
    from emoprobe.codehash import code_fingerprint, string_constants
    from emoprobe.labels import label_set
    from emoprobe.probe.training import canonical_json, sha256

    code = code_fingerprint([WRITER], constants=string_constants(config), exclude=NOT_FOLLOWED)
    # the class names come from the dataset's layout, which the code analysis does not follow: they are data
    return sha256(canonical_json({"pool": config, "classes": label_set(config["dataset"]), "size": zoo.FRAME_SIZE,
                                  "code": code}))[:16]


def folder(profile: str = "quick", test_set: str = "test", cache_dir=None, workers: int = 1,
           progress: bool = False) -> Path:
    """The root of a probe test set, written on first use (cached afterwards)."""
    from emoprobe.data.synth.crop import RENDER_SIZE
    from emoprobe.data.synth.writers import write_dataset

    config = pool(profile, test_set)
    base = Path(cache_dir) if cache_dir is not None else zoo.default_cache_dir().parent / "datasets"
    root = base / f"{profile}-{test_set.replace('@', '-')}-{_key(config)}"
    if (root / "probe_config.json").is_file():
        return root
    spec = zoo.make_spec(config)
    cap = config.get("max_frames")
    for clip in spec["clips"]:
        # a test set is fold FOLD's test list; a training set its training list (any other fold number)
        clip["fold"] = FOLD + 1 if test_set.partition("@")[0] == "train" else FOLD
        if cap:
            clip["num_frames"] = int(min(clip["num_frames"], cap))
    from emoprobe.cache import remove_orphans, temporary_name

    remove_orphans(base)
    tmp = base / temporary_name(root.name)
    shutil.rmtree(tmp, ignore_errors=True)
    write_dataset(spec, tmp, format="frames", size=RENDER_SIZE, crop_size=zoo.FRAME_SIZE, image_format="png",
                  workers=workers, progress=progress)
    try:
        os.replace(tmp, root)
    except OSError:  # another process wrote the same set first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return root
