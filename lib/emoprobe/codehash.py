"""A fingerprint of the code a computation actually reaches, so that caches outlive edits that cannot matter.

A trained probe model is cached under its config and its code. Hashing whole files made any edit (a docstring
in the zoo, a new frame sampler, a chart helper) retrain every model; hashing nothing would keep stale models.
``reached_code`` follows what a set of root functions can call, statically, within this package:

- each module's top-level definitions (functions, classes, assignments) are the units; a unit's text is its
  source with docstrings and comments removed and the layout normalised (``ast.unparse``), so a comment, a
  docstring or a reformatting changes nothing;
- from the roots, every unit a reached unit names is reached too: a name of its own module, a name it imports
  (``from emoprobe.x import f``, resolved through re-exports), or ``module.attr`` on an imported module;
- registries filled by decorators (``@register("uniform") class Uniform``) are followed by name: a registered
  unit is reached when its registration string appears in a reached unit or among the ``constants`` the
  caller passes (the string values of a training config, such as a class-sampler name). Adding a sampler
  therefore keeps every key; editing one that training draws with changes them.

The analysis is conservative where it is unsure (a local variable named like a top-level unit reaches that
unit) and blind to dynamic lookups (``getattr`` with a computed name), which this package's training code
does not use. Third-party code is not followed; callers add library versions to their keys instead.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path

import emoprobe

PACKAGE = "emoprobe"
PACKAGE_ROOT = Path(emoprobe.__file__).resolve().parent

__all__ = ["code_fingerprint", "module_text", "reached_code", "string_constants"]


class _Module:
    """The units, imports and registrations of one source file."""

    def __init__(self, name: str, path: Path):
        self.name = name
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self.units: dict[str, list[ast.AST]] = {}  # a unit's statements: its definition and later mutations
        self.registered: dict[str, list[str]] = {}  # registration string -> unit names
        for node in _flatten(tree.body):
            for unit in _unit_names(node):
                self.units.setdefault(unit, []).append(node)
            for key in _registrations(node):
                self.registered.setdefault(key, []).extend(_unit_names(node))
        self.texts: dict[str, str] = {}  # unit -> normalised source, filled on first use
        self.imports: dict[str, tuple[str, str | None]] = {}  # alias -> (module, name or None for the module)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.imports[a.asname] = (a.name, None)
                    else:  # "import emoprobe.x" binds "emoprobe"
                        self.imports[a.name.split(".")[0]] = (a.name.split(".")[0], None)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, package)
                for a in node.names:
                    self.imports[a.asname or a.name] = (base, a.name)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The absolute module of ``from ... import``; ``package`` is the package the importing file is in."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")[:len(package.split(".")) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


def _flatten(body: list) -> Iterable[ast.AST]:
    for node in body:
        if isinstance(node, (ast.If, ast.Try)):
            yield from _flatten(node.body)
            yield from _flatten(getattr(node, "orelse", []))
            for handler in getattr(node, "handlers", []):
                yield from _flatten(handler.body)
        else:
            yield node


def _unit_names(node: ast.AST) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
            and isinstance(node.value.func.value, ast.Name)):
        return [node.value.func.value.id]  # "REGISTRY.update({...})" at module level belongs to REGISTRY
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
        node, (ast.AnnAssign, ast.AugAssign)) else []
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _registrations(node: ast.AST) -> list[str]:
    decorators = getattr(node, "decorator_list", [])
    return [d.args[0].value for d in decorators
            if isinstance(d, ast.Call) and d.args and isinstance(d.args[0], ast.Constant)
            and isinstance(d.args[0].value, str)]


def _strip_docstrings(node: ast.AST) -> ast.AST:
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if (isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            sub.body = body[1:] or [ast.Pass()]
    return node


def _text(node: ast.AST) -> str:
    """The unit's source without docstrings or comments, in a normalised layout."""
    return ast.unparse(_strip_docstrings(ast.parse(ast.unparse(node)).body[0]))  # on a copy


def module_text(path) -> str:
    """A whole source file without docstrings or comments, in a normalised layout (what the book's freshness
    check hashes: a reworded docstring re-executes no chapter)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        tree.body = body[1:]
    return ast.unparse(_strip_docstrings(tree))


def string_constants(obj) -> set[str]:
    """Every string in a JSON-like value (keys and values): what a config can name from a registry."""
    if isinstance(obj, str):
        return {obj}
    if isinstance(obj, dict):
        return set().union(*(string_constants(k) | string_constants(v) for k, v in obj.items())) if obj else set()
    if isinstance(obj, (list, tuple, set)):
        return set().union(*(string_constants(v) for v in obj)) if obj else set()
    return set()


_PARSED: dict = {}


def _parsed(name: str, path: Path) -> _Module:
    """A parsed module, memoised per process by its path, size and modification time."""
    st = path.stat()
    key = (name, str(path), st.st_mtime_ns, st.st_size)
    if key not in _PARSED:
        _PARSED[key] = _Module(name, path)
    return _PARSED[key]


class _Package:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.modules: dict[str, _Module | None] = {}

    def module(self, name: str) -> _Module | None:
        if name not in self.modules:
            parts = name.split(".")
            found = None
            if parts[0] == PACKAGE:
                rel = Path(*parts[1:]) if len(parts) > 1 else Path()
                for path in (self.root / rel.with_suffix(".py") if parts[1:] else None,
                             self.root / rel / "__init__.py"):
                    if path is not None and path.is_file():
                        found = _parsed(name, path)
                        break
            self.modules[name] = found
        return self.modules[name]

    def resolve(self, module: str, name: str, seen=()) -> tuple[str, str] | None:
        """(module, unit) that ``name`` in ``module`` refers to, following imports and re-exports."""
        mod = self.module(module)
        if mod is None or (module, name) in seen:
            return None
        if name in mod.units:
            return module, name
        if name in mod.imports:
            target, attr = mod.imports[name]
            if attr is None or self.module(f"{target}.{attr}") is not None:
                return None  # a module, not a unit: its attributes are resolved where they are used
            return self.resolve(target, attr, (*seen, (module, name)))
        return None

    def module_alias(self, module: str, alias: str) -> str | None:
        mod = self.module(module)
        if mod is None or alias not in mod.imports:
            return None
        target, attr = mod.imports[alias]
        full = target if attr is None else f"{target}.{attr}"
        return full if self.module(full) is not None else None


def _references(pkg: _Package, module: str, node: ast.AST) -> set[tuple[str, str]]:
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            hit = pkg.resolve(module, sub.id)
            if hit:
                out.add(hit)
        elif isinstance(sub, ast.Attribute):
            chain, base = [sub.attr], sub.value
            while isinstance(base, ast.Attribute):
                chain.insert(0, base.attr)
                base = base.value
            if not isinstance(base, ast.Name):
                continue
            target = pkg.module_alias(module, base.id)
            # walk "emoprobe.probe.vlm.build.build" down to the deepest module, then resolve the next name there
            while target is not None and chain:
                deeper = f"{target}.{chain[0]}"
                if pkg.module(deeper) is None:
                    hit = pkg.resolve(target, chain[0])
                    if hit:
                        out.add(hit)
                    break
                target, chain = deeper, chain[1:]
    return out


def reached_code(roots: Iterable[str], constants: Iterable[str] = (), exclude: Iterable[str] = (),
                 root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """``"module:unit" -> normalised source`` of every unit reachable from ``roots`` (``"module:unit"`` strings).

    ``exclude``: units not to follow (for example the cache lookup of a model's starting point, whose own key
    is part of the config). ``root``: the package folder (tests point it at an edited copy).
    """
    pkg = _Package(root)
    skip = {tuple(x.split(":")) for x in exclude}
    strings = set(constants)
    todo = []
    for r in roots:
        module, _, unit = r.partition(":")
        hit = pkg.resolve(module, unit)
        if hit is None:
            raise ValueError(f"reached_code: root {r!r} is not a top-level definition under {root}")
        todo.append(hit)
    reached: dict[tuple[str, str], list[ast.AST]] = {}
    while todo:
        key = todo.pop()
        if key in reached or key in skip:
            continue
        nodes = pkg.module(key[0]).units[key[1]]
        reached[key] = nodes
        for node in nodes:
            todo.extend(_references(pkg, key[0], node))
            strings |= {s.value for s in ast.walk(node) if isinstance(s, ast.Constant) and isinstance(s.value, str)}
        # registrations whose names are known so far, in every module loaded so far
        for mod in [m for m in pkg.modules.values() if m is not None]:
            for s in strings & set(mod.registered):
                todo.extend((mod.name, u) for u in mod.registered[s])
    out = {}
    for (m, u), nodes in sorted(reached.items()):
        texts = pkg.module(m).texts
        if u not in texts:
            texts[u] = "\n".join(_text(n) for n in nodes)
        out[f"{m}:{u}"] = texts[u]
    return out


_MEMO: dict = {}


def code_fingerprint(roots: Iterable[str], constants: Iterable[str] = (), exclude: Iterable[str] = (),
                     root: Path = PACKAGE_ROOT) -> str:
    """sha256 of ``reached_code``: changes exactly when a reached unit's code changes.

    Units enter by name and text, not by module, so moving a function to another module (a refactoring) keeps
    the fingerprint. Memoised per process by the arguments and the size and modification time of every source file.
    """
    roots, constants, exclude = tuple(roots), frozenset(constants), tuple(exclude)
    files = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(Path(root).rglob("*.py")))
    memo = (roots, constants, exclude, str(root), files)
    if memo not in _MEMO:
        h = hashlib.sha256()
        units = sorted((name.partition(":")[2], text) for name, text in reached_code(roots, constants, exclude,
                                                                                       root).items())
        for name, text in units:
            h.update(f"{name}\0{text}\0".encode("utf-8"))
        _MEMO[memo] = h.hexdigest()
    return _MEMO[memo]
