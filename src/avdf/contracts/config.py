"""Reading and validating ``params.yaml``, the single source of truth for parameters.

The schema lives in ``workflow/schemas/params.schema.yaml``. Snakemake validates the config with
it when the workflow starts, through :func:`validate_params`, so that a wrong key or a wrong type
stops the run with a message that names the key.
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "params.schema.yaml"


class ParamsError(ValueError):
    """A parameter file that does not match the schema."""


def load_params(path: str | Path) -> dict:
    with open(path) as f:
        params = yaml.safe_load(f)
    validate_params(params, source=str(path))
    return params


def profile_params(profile: str | None = None) -> dict:
    """``params.yaml`` with a profile's config files (its ``config.yaml``: ``configfile``, one or a
    list, in order) merged over it as Snakemake merges them (:func:`merge`), validated."""
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    if profile:
        config = yaml.safe_load((REPO_ROOT / "workflow/profiles" / profile / "config.yaml").read_text())
        files = config.get("configfile", [])
        for path in [files] if isinstance(files, str) else files:
            merge(params, yaml.safe_load((REPO_ROOT / path).read_text()))
    validate_params(params, source=f"profile {profile or 'default'}")
    return copy.deepcopy(params)


def merge(base: dict, over: dict) -> dict:
    """``over`` merged into ``base`` in place, nested keys replacing nested keys, as Snakemake's
    ``update_config`` merges config files (tests/test_config.py compares the two on every profile).
    Its own: scoring, predict and the GPU check read profiles where Snakemake is not installed."""
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _key_path(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        path = ".".join(filter(None, [path, ",".join(extra)]))
    return path or "(top level)"


def with_registries(schema: dict) -> dict:
    """The schema with the names the registries hold: ``train.methods`` lists registered methods
    (avdf.contracts.methods), so that adding a method never means editing the schema."""
    from avdf.contracts import methods

    schema["properties"]["train"]["properties"]["methods"]["items"] = {"enum": list(methods.METHODS)}
    return schema


def validate_params(params: dict, source: str = "params.yaml", schema_path: Path = SCHEMA_PATH) -> None:
    """Raise :class:`ParamsError` naming every offending key, e.g. ``train.epochs``."""
    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    schema = with_registries(schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(params), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"  - key '{_key_path(e)}': {e.message}" for e in errors]
        raise ParamsError(f"{source} does not match {schema_path.name}:\n" + "\n".join(lines))
    _check_variants_and_studies(params, source, validator)


def _check_variants_and_studies(params: dict, source: str, validator) -> None:
    """Each variant, merged into the parameters, must match the schema; each study must name
    variants that exist."""
    from avdf.contracts.variants import apply_variant

    problems = []
    for name in params["variants"]:
        for e in validator.iter_errors(apply_variant(params, name)):
            problems.append(f"  - variant '{name}', key '{_key_path(e)}': {e.message}")
    for study, spec in params["studies"].items():
        for v in spec.get("variants", []):
            if v not in params["variants"]:
                problems.append(f"  - key 'studies.{study}.variants': unknown variant '{v}'")
    if problems:
        raise ParamsError(f"{source}:\n" + "\n".join(problems))
