"""Contracts: the typed specs, layouts, registries and file formats every layer shares."""
