"""Code named by the registries as ``"avdf.module:attribute"``, imported only when it is used.

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
