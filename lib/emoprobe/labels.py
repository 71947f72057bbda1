"""Class names and integer label orders, looked up by dataset name.

Each dataset's module (emoprobe.data.dfew, .mafw, .ferv39k) holds its classes and the integer orders its
split files use, in its `Layout`; this module reads them from the registered layouts. Integer label ids
differ between repositories for the same dataset, so everything in emoprobe maps through class *names*: the
canonical names are lower-case and use each dataset's own wording (DFEW and FERV39k say ``happy``; MAFW says
``happiness``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

__all__ = ["LABEL_SETS", "ID_ORDERS", "label_set", "id_to_name", "name_to_id", "first_id"]


def _datasets():
    from emoprobe.data import DATASETS  # imported late: the loaders use this module

    return DATASETS


class _PerDataset(Mapping):
    """A read-only view of one field of every registered dataset layout (a dataset added at run time shows)."""

    def __init__(self, field: str):
        self.field = field

    def __getitem__(self, dataset: str):
        if dataset not in _datasets():
            raise KeyError(dataset)
        return getattr(_datasets().get(dataset), self.field)

    def __iter__(self) -> Iterator[str]:
        return iter(_datasets())

    def __len__(self) -> int:
        return len(_datasets())


LABEL_SETS = _PerDataset("classes")  # dataset -> class names in the dataset's own order
ID_ORDERS = _PerDataset("id_orders")  # dataset -> {order name: class names by integer id}


def label_set(dataset: str) -> tuple[str, ...]:
    try:
        return LABEL_SETS[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(LABEL_SETS)}") from None


def _order(dataset: str, order: str) -> tuple[str, ...]:
    label_set(dataset)
    try:
        return ID_ORDERS[dataset][order]
    except KeyError:
        raise ValueError(f"unknown label order {order!r} for {dataset}; expected one of "
                         f"{sorted(ID_ORDERS[dataset])}") from None


def first_id(dataset: str, order: str) -> int:
    """The id of an order's first class: 1 where the release numbers from 1 (DFEW's official CSVs), else 0."""
    _order(dataset, order)
    return 1 if order in _datasets().get(dataset).one_based else 0


def id_to_name(dataset: str, order: str, label_id: int) -> str:
    """Class name of an integer label under a repository's order (``official`` DFEW ids are 1-based)."""
    names, lo = _order(dataset, order), first_id(dataset, order)
    index = int(label_id) - lo
    if not 0 <= index < len(names):
        raise ValueError(f"label id {label_id} out of range for {dataset} ({order} order): expected "
                         f"{lo}..{lo + len(names) - 1}")
    return names[index]


def name_to_id(dataset: str, order: str, name: str) -> int:
    names = _order(dataset, order)
    key = name.strip().lower()
    if key not in names:
        raise ValueError(f"unknown {dataset} class {name!r}; expected one of {list(names)}")
    return names.index(key) + first_id(dataset, order)
