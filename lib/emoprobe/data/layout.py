"""A dataset's on-disk layout as data, and the one loader that reads any of them.

A `Layout` says where a release keeps its split files and clips and how a split file's lines read; a
`Format` is one way of writing the split files (the release's own, or the lists other repositories ship).
`load` turns a layout, a root and a split into clip records (emoprobe.data.records). A new dataset is one
small module with its `Layout` (see emoprobe.data.dfew) registered in emoprobe.data.DATASETS, plus a fixture
in its real format in the tests.

Line shapes (``Format.line``):

- ``"csv"``: two fields, ``<clip> <label>``, split by commas, semicolons or tabs, quoted or not (a spreadsheet
  export: emoprobe.tables.split_line); an optional header row (``Format.header``) is skipped;
- ``"words"``: whitespace-separated ``<clip> <label>`` (``Format.extra_fields``: more fields may follow, such
  as MAFW's captions);
- ``"dfer-clip"``: ``<path> <num_frames> <label>`` and ``"mae-dfer"``: ``<path> <label>``, the derived lists
  of DFER-CLIP and MAE-DFER, whose first field is a path to the clip (tried before the clip folders).

Labels are class names (``Format.order`` None) or integers in a named order (``Layout.id_orders``). A
clip's id is the last ``Layout.id_parts`` components of its listed name without ``.mp4``, zero-padded to
``Layout.id_width`` digits when it is a number (spreadsheets drop leading zeros).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from emoprobe.tables import split_line

from . import records as R

LINES = ("csv", "words", "dfer-clip", "mae-dfer")


@dataclass(frozen=True)
class Format:
    """One way of writing a dataset's split files."""

    split_files: tuple[str, ...]    # candidates relative to the root, with {split} and {fold}; the first found
    line: str                       # a key of LINES
    order: str | None = None        # a key of the layout's ``id_orders``; None: the lines hold class names
    header: tuple[str, ...] = ()    # a first row equal to this (any case) is a header
    extra_fields: bool = False      # "words": fields after the label are allowed (captions)
    shape: str = ""                 # how a line looks, for error messages

    def __post_init__(self):
        if self.line not in LINES:
            raise ValueError(f"Format.line: expected one of {LINES}, got {self.line!r}")
        if not self.split_files:
            raise ValueError("Format.split_files: expected at least one candidate path")


@dataclass(frozen=True)
class Layout:
    """Where a dataset release keeps its split files and clips."""

    name: str                       # the dataset's key (emoprobe.data.DATASETS, emoprobe.labels)
    title: str                      # as the dataset's authors write it, for messages
    classes: tuple[str, ...]        # class names, lower case, in the dataset's own order
    formats: Mapping[str, Format]   # the first is the release's own ("official")
    clip_dirs: tuple[str, ...]      # folders under the root that hold clips (mp4 files or frame folders)
    # integer orders of published split files: order name -> class names by id (0-based unless in one_based)
    id_orders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    one_based: tuple[str, ...] = ()
    folds: int | None = None        # number of folds; None: one train/test split
    id_parts: int = 1
    id_width: int | None = None
    protocols: tuple[str, ...] = ("single",)
    sources: str = ""               # where the layout was read from (public pages)

    def __post_init__(self):
        if not self.formats:
            raise ValueError(f"{self.name}: a layout needs at least one format")
        classes = tuple(self.classes)
        if len(classes) < 2 or len(set(classes)) != len(classes) or any(c != c.strip().lower() or not c
                                                                         for c in classes):
            raise ValueError(f"{self.name}: classes must be at least two distinct lower-case names, got {classes}")
        for order, names in self.id_orders.items():
            if sorted(names) != sorted(classes):
                raise ValueError(f"{self.name}: id order {order!r} must list every class once, got {tuple(names)}")
        for needed in [f.order for f in self.formats.values() if f.order] + list(self.one_based):
            if needed not in self.id_orders:
                raise ValueError(f"{self.name}: label order {needed!r} is not one of id_orders "
                                 f"{sorted(self.id_orders)}")
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "formats", MappingProxyType(dict(self.formats)))
        object.__setattr__(self, "id_orders", MappingProxyType({k: tuple(v) for k, v in self.id_orders.items()}))

    def split_file_candidates(self, split: str, fold, fmt: str) -> list[str]:
        return [p.format(split=split, fold=fold) for p in self.formats[fmt].split_files]


def _fields(fmt: Format, line: str, path, i: int):
    """(listed path or None, clip reference, num_frames or None, label value) of one line; None for a header or
    a row of separators only."""
    shape = fmt.shape or " ".join(f"<{x}>" for x in ("clip", "label"))
    if fmt.line in ("dfer-clip", "mae-dfer"):
        listed, num, value = R.parse_list_line(line, fmt.line, path, i)
        return listed, listed, num, value
    parts = split_line(line) if fmt.line == "csv" else line.split()
    if not parts:
        return None
    if i == 1 and fmt.header and [p.lower() for p in parts] == list(fmt.header):
        return None
    if len(parts) < 2 or (len(parts) > 2 and not fmt.extra_fields):
        raise ValueError(f"{path}:{i}: expected {shape!r}, got {line!r}")
    return None, parts[0], None, parts[1]


def _clip_id(layout: Layout, ref: str) -> str:
    clip_id = "/".join(Path(ref.rstrip("/")).parts[-layout.id_parts:]).removesuffix(".mp4")
    if layout.id_width and clip_id.isdigit():
        clip_id = clip_id.zfill(layout.id_width)
    return clip_id


def load(layout: Layout, root, split="test", fold=None, fmt=None, order=None, list_file=None, clips_dir=None,
         missing="skip", protocol="single") -> list:
    """Clip records of one split (and fold) of the dataset ``layout`` describes, under ``root``.

    ``fmt``: a key of ``layout.formats`` (default: the first, the release's own); ``order``: the integer label
    order of the file (default: the format's); ``list_file``: read this split file instead of looking one up;
    ``clips_dir``: the only clip folder to search; ``missing``: what to do with listed clips absent on disk
    (emoprobe.data.records).
    """
    name = layout.name
    root = R.check_root(root, name)
    if layout.folds is not None and fold is None:
        fold = 1
    R.check_split(split, fold, layout.folds, name)
    R.check_missing(missing)
    fmt = next(iter(layout.formats)) if fmt is None else fmt
    if fmt not in layout.formats:
        raise ValueError(f"{name}: fmt must be one of {tuple(layout.formats)}, got {fmt!r}")
    if protocol not in layout.protocols:
        raise ValueError(f"{name}: only the {'/'.join(layout.protocols)}-label protocol is supported, "
                         f"got {protocol!r}")
    form = layout.formats[fmt]
    order = order or form.order
    where = f"fold {fold}, {split}" if layout.folds is not None else split
    path = R.find_file(root, [list_file] if list_file else layout.split_file_candidates(split, fold, fmt),
                       f"{layout.title} {fmt} split file ({where})")
    dirs = R.existing_dirs(root, layout.clip_dirs, clips_dir)
    meta = R.read_meta(root)
    out, seen = [], {}
    for i, line in R.read_lines(path):
        parsed = _fields(form, line, path, i)
        if parsed is None:
            continue
        listed, ref, num, value = parsed
        if i == 1 and form.header and form.order and not value.lstrip("-").isdigit():
            raise ValueError(f"{path}:{i}: expected the header {','.join(form.header)!r} (or a first row "
                             f"{form.shape!r}), got {line!r}")
        label = R.name_label(name, value, path, i) if order is None else R.id_label(name, order, value, path, i)
        clip_id = _clip_id(layout, ref)
        R.check_new(seen, clip_id, path, i)
        found, exists = R.resolve(listed, root, clip_id, dirs)
        out.append(R.record(clip_id, found, exists, label, name, fold, split, num, path, meta.get(clip_id)))
    return R.apply_missing(out, missing, path, root, dirs)
