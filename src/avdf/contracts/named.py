"""The registries' helpers: code they name as ``"avdf.module:attribute"``, imported only when it
is used, and adding an entry once.

The method and study registries name a model class or a table function this way, so that reading
a registry imports no model or table code; avdf.contracts.fingerprints follows such names into a
job's code.
"""

from __future__ import annotations

import importlib


def resolve(target: str):
    """The attribute ``target`` names, e.g. ``"avdf.reporting.tables:table1"``."""
    module, _, attribute = target.partition(":")
    if not module or not attribute:
        raise ValueError(f"{target!r}: expected 'module:attribute'")
    return getattr(importlib.import_module(module), attribute)


def add_once(registry: dict, name: str, entry, kind: str):
    """Put ``entry`` in ``registry`` under ``name``; a second entry of that name is a mistake."""
    if name in registry:
        raise ValueError(f"{kind} {name!r} is registered twice")
    registry[name] = entry
    return entry
