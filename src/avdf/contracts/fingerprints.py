"""Code fingerprints derived from imports: what a stage's result depends on, without a list to keep.

A stage names its entry module (``avdf.stages.face_tracks``, ``avdf.learning.train``, ...). Its code is
the import closure of that module inside ``avdf``: every avdf module it imports, at the top or
inside a function, transitively, with the packages that hold them, and every module a registry
names as ``"avdf.module:Attribute"`` (a method's model class, avdf.contracts.methods), which is
imported by name when it is used.

A registry's block of member imports (``# registry: ...`` then ``# isort: off`` ... ``# isort: on``)
is left out, from the imports and from the hash: adding a method, an adapter or a study must not
rerun the jobs of the others. A job that runs a member names it itself (the train rule names its
method's module, the ingest rule its dataset's adapter). The fingerprint is the hash of
those files, so editing a module reruns exactly the stages that import it (directly or not).
The modules are read as text (``ast``), never imported, so the Snakefile computes this cheaply.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # src/avdf


def module_file(name: str, root: Path = PACKAGE_ROOT) -> Path | None:
    """The file of ``avdf.x.y``: ``x/y/__init__.py`` or ``x/y.py`` under ``root`` (None if neither)."""
    parts = name.split(".")[1:]
    candidates = [root.joinpath(*parts, "__init__.py")] + (
        [root.joinpath(*parts).with_suffix(".py")] if parts else []
    )
    return next((c for c in candidates if c.is_file()), None)


def _resolve(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


REGISTRY_BLOCK = re.compile(r"^# registry:[^\n]*\n# isort: off\n.*?^# isort: on\n", re.S | re.M)
REFERENCE = re.compile(r"^(avdf(?:\.\w+)+):\w+$")  # "avdf.learning.models.macbdf:MACBDF"


def source_of(path: Path) -> str:
    """A module's text as its dependents' fingerprints see it: without its registry block."""
    return REGISTRY_BLOCK.sub("", path.read_text())


@functools.cache
def imports_of(name: str, root: Path = PACKAGE_ROOT, references: bool = True) -> frozenset[str]:
    """The avdf modules that module ``name`` imports anywhere in its text (functions included),
    and with ``references`` those it names as ``"avdf.module:Attribute"``."""
    path = module_file(name, root)
    if path is None:
        return frozenset()
    found = set()
    for node in ast.walk(ast.parse(source_of(path), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, name, path.name == "__init__.py")
            candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif references and isinstance(node, ast.Constant) and isinstance(node.value, str):
            candidates = [m.group(1) for m in [REFERENCE.match(node.value)] if m]
        else:
            continue
        found |= {c for c in candidates if c.split(".")[0] == "avdf" and module_file(c, root)}
    return frozenset(found - {name})


def _with_packages(name: str) -> list[str]:
    """A module and the packages above it (importing avdf.media.faces runs avdf/media/__init__.py)."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def closure(modules: tuple[str, ...] | list[str], root: Path = PACKAGE_ROOT) -> list[str]:
    """Every avdf module that importing ``modules`` can run, sorted."""
    seen: set[str] = set()
    todo = [p for m in modules for p in _with_packages(m)]
    while todo:
        name = todo.pop()
        if name in seen or module_file(name, root) is None:
            continue
        seen.add(name)
        todo += [p for m in imports_of(name, root) for p in _with_packages(m)]
    return sorted(seen)


def code_fingerprint(*modules: str, root: Path = PACKAGE_ROOT) -> str:
    """sha256 (16 hex digits) of the files of ``closure(modules)``, each with its name."""
    digest = hashlib.sha256()
    for name in closure(modules, root):
        digest.update(name.encode() + b"\0" + source_of(module_file(name, root)).encode())
    return digest.hexdigest()[:16]


def import_graph(root: Path = PACKAGE_ROOT) -> dict[str, frozenset[str]]:
    """Every avdf module under ``root`` and the avdf modules it imports (for the cycle and layer
    checks; names in registries are not imports)."""
    names = [
        ".".join(("avdf", *f.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        for f in sorted(root.rglob("*.py"))
    ]
    return {n: frozenset(m for m in imports_of(n, root, False) if not n.startswith(m + ".")) for n in names}
