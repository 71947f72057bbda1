"""One shape for every registry of the package: frame and class samplers, backends, model specs, budget
families, datasets and the zoo's model kinds.

A `Registry` maps names to entries. ``register`` adds one (directly or as a decorator), ``get`` returns one or
raises a ``ValueError`` that names the registry, suggests close names and lists every name, ``names`` lists
them. An entry may be given as a ``"module:attribute"`` string (``lazy=True``): it is imported on first
``get``, so a registry of backends does not import torch or httpx until a backend is used.

It reads like a mapping (``name in r``, ``r[name]``, ``sorted(r)``, ``len(r)``), so code that only looks
entries up needs nothing else.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["Registry", "check_params", "unknown_name"]


def unknown_name(kind: str, name, known) -> ValueError:
    """The error for a name that is not registered: the close names first, then every name."""
    known = sorted(str(k) for k in known)
    close = difflib.get_close_matches(str(name).lower(), known, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(f"unknown {kind} {name!r}.{hint} Expected one of: {', '.join(known)}")


def check_params(kind: str, name, factory: Callable, params) -> None:
    """A ``ValueError`` naming the parameters that ``factory`` does not take, and the ones it does (a user's
    ``--backend-param retries=1`` then reads as a typo, not as a TypeError deep inside a constructor). A factory
    that takes ``**kwargs`` accepts anything."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    takes = [n for n, p in sig.parameters.items() if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(params) - set(takes))
    if unknown:
        raise ValueError(f"{kind} {name!r}: unknown parameter{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(unknown)}; it takes {', '.join(takes) or 'none'}")


class Registry(Mapping):
    """Named entries of one kind (``kind`` names it in error messages)."""

    def __init__(self, kind: str, lazy: bool = False):
        self.kind = kind
        self.lazy = lazy
        self._entries: dict[str, Any] = {}

    def register(self, name: str, entry: Any = None) -> Any:
        """Add ``entry`` under ``name``; without ``entry``, a decorator that registers what it decorates (and
        sets its ``name`` attribute when it is a class, so an instance knows its registered name)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind}: a registered name must be a non-empty string, got {name!r}")

        def add(obj):
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            if isinstance(obj, type):
                obj.name = name
            self._entries[name] = obj
            return obj

        return add if entry is None else add(entry)

    def unregister(self, name: str) -> None:
        if name not in self._entries:
            raise unknown_name(self.kind, name, self._entries)
        del self._entries[name]

    def get(self, name: str, default: Any = ...) -> Any:  # noqa: D417 - a Mapping's get, stricter by default
        """The entry ``name`` (imported first if it is a lazy ``"module:attribute"``); an unknown name is a
        ``ValueError`` with suggestions, unless ``default`` is given."""
        if name not in self._entries:
            if default is not ...:
                return default
            raise unknown_name(self.kind, name, self._entries)
        entry = self._entries[name]
        if self.lazy and isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
        return entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def build(self, name: str, **params) -> Any:
        """``get(name)(**params)``: the usual way to make an instance of a registered class."""
        factory: Callable = self.get(name)
        return factory(**params)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
