"""The prediction row: one per clip and run, the same fields in every profile (``predictions.jsonl``).

Every field needed to rescore a run without the model is here, so metrics, verdicts and figures read rows
only. ``PredictionRow`` documents and types the fields; rows are stored and passed around as plain dicts
(``asdict``), which is what pandas, JSON and the chapters want.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

__all__ = ["PredictionRow", "FIELDS", "new_row", "predicted"]


@dataclass
class PredictionRow:
    # the clip
    id: str                                   # clip id as the dataset names it
    label: str | None                         # true class (canonical name, emoprobe.labels)
    dataset: str | None = None
    path: str | None = None
    kind: str | None = None                   # probe clips: "macro", "micro", "trajectory", "none"; else None
    clip_num_frames: int | None = None
    clip_fps: float | None = None
    # what the model was shown
    frame_indices: list = field(default_factory=list)   # clip frame indices in the order shown (after budget)
    timestamps: list = field(default_factory=list)      # seconds of those frames in the clip
    presented_timestamps: list = field(default_factory=list)  # what the model was told (sorted when shuffled)
    shuffled: bool = False
    visual_token_budget: int | None = None    # the fixed budget, or None (the processor's own rule)
    frame_size: list | None = None            # [height, width] sent to the backend
    event_sampled: bool | None = None         # probe clips with an event: did a shown frame fall inside it?
    context_mode: str | None = None           # None, "msce", "oracle" (+ "-shuffled")
    context: str | None = None                # the text given to the prompt
    context_shuffled: bool | None = None      # shuffle_context: was this clip's text really permuted?
    # the question and the answer
    prompt_id: str = ""
    template_hash: str = ""
    class_order: list = field(default_factory=list)
    raw_output: str | None = None
    prediction: str | None = None             # a class name, or None when the answer could not be read
    outcome: str | None = None                # "parsed", "unparsed", "refused", or "error"
    reason: str | None = None
    ranked: list | None = None
    # costs and failures
    visual_tokens: int | None = None          # counted by the backend where it can
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float | None = None
    cache_hit: bool = False
    error: str | None = None
    error_kind: str | None = None             # "missing" (not on disk), "video" (undecodable), "backend" (call failed)
    file_stamp: list | None = None            # "video" errors: the clip's [files, bytes, newest mtime_ns] then


FIELDS = tuple(f.name for f in fields(PredictionRow))


def new_row(**values) -> dict:
    """A row as a plain dict; unknown field names are an error (so the schema stays the one place)."""
    return asdict(PredictionRow(**values))


def predicted(rows) -> list:
    """Parsed predictions, with None for answers that could not be read (they count as wrong)."""
    return [r.get("prediction") if r.get("outcome", "parsed") == "parsed" else None for r in rows]
