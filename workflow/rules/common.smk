# Helpers shared by the rules: config validation, dataset lookups, target lists.
import json
import shlex

from avdf import layout
from avdf.config import ParamsError, validate_params

try:
    validate_params(config, source="params.yaml (with any --config/--configfile overrides)")
except ParamsError as error:
    raise WorkflowError(str(error)) from None

DATASETS = list(config["datasets"])
METHODS = config["train"]["methods"]
SEEDS = config["train"]["seeds"]
PROTOCOL = config["split"]["protocol"]


wildcard_constraints:
    dataset="|".join(DATASETS),
    train_dataset="|".join(DATASETS),
    eval_dataset="|".join(DATASETS),
    method="|".join(METHODS),
    seed=r"\d+",


def as_json(obj):
    """A parameter section as one shell-quoted JSON argument for the avdf command."""
    return shlex.quote(json.dumps(obj, sort_keys=True))


def raw_meta(wildcards):
    """The dataset's metadata file: generated (synthetic) or found in a local copy."""
    spec = config["datasets"][wildcards.dataset]
    if spec["source"] == "synthetic":
        return layout.raw_meta(wildcards.dataset)
    return f"{spec['root']}/meta_data.csv"


def train_cfg():
    keys = ("train", "model", "macbdf", "log_mel", "media", "synth", "mlflow", "data_label")
    return as_json({k: config[k] for k in keys})


def raw_targets():
    return [layout.raw_meta(d) for d in DATASETS if config["datasets"][d]["source"] == "synthetic"]


def preprocess_targets():
    return [layout.stage_index(d, s) for d in DATASETS for s in layout.STAGES]


def train_targets():
    return [layout.train_summary(d, m, s) for d in DATASETS for m in METHODS for s in SEEDS]


def eval_targets():
    return [layout.eval_json(d, m, s, d) for d in DATASETS for m in METHODS for s in SEEDS]
