# Helpers shared by the rules: config validation, dataset lookups, target lists.
import json
import shlex
from pathlib import Path

from avdf import layout, models, studies
from avdf.config import ParamsError, validate_params
from avdf.media import clip_stage

try:
    validate_params(config, source="params.yaml (with any --config/--configfile overrides)")
except ParamsError as error:
    raise WorkflowError(str(error)) from None

DATASETS = [d for d, spec in config["datasets"].items() if spec.get("enabled", True)]
METHODS = config["train"]["methods"]
SEEDS = config["train"]["seeds"]
VARIANTS = list(config["variants"])
PROTOCOL = config["split"]["protocol"]
SHARDS = config["resources"]["preprocess_shards"]


wildcard_constraints:
    dataset="|".join(DATASETS),
    train_dataset="|".join(DATASETS),
    eval_dataset="|".join(DATASETS),
    method="|".join(models.REGISTRY),
    variant="|".join(VARIANTS),
    seed=r"\d+",
    shard=r"\d+",


def code_version(*paths):
    """sha256 of the avdf source files a rule's result depends on, passed as a rule parameter so
    that Snakemake reruns a job when that code changes (and `dvc repro` needs no --forcerun)."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    root = Path(workflow.basedir) / "src" / "avdf"
    for rel in paths:
        files = sorted((root / rel).rglob("*.py")) if (root / rel).is_dir() else [root / rel]
        for f in files:
            digest.update(str(f.relative_to(root)).encode() + f.read_bytes())
    return digest.hexdigest()[:16]


TRAIN_CODE = code_version(
    "models", "losses", "optim", "steps.py", "train.py", "clips.py", "studies.py", "evaluate.py", "metrics.py"
)
EVAL_CODE = code_version("models", "evaluate.py", "metrics.py", "clips.py")
TABLE_CODE = code_version("tables.py", "figures.py", "paper.py", "metrics.py", "studies.py", "tracking.py")


def as_json(obj):
    """A parameter section as one shell-quoted JSON argument for the avdf command."""
    return shlex.quote(json.dumps(obj, sort_keys=True))


def raw_meta(wildcards):
    """What ingest reads: the generated metadata (synthetic), or the marker the fetch rule writes
    once a real dataset is on disk (a local copy, or a download)."""
    if config["datasets"][wildcards.dataset]["source"] == "synthetic":
        return layout.raw_meta(wildcards.dataset)
    return layout.raw_marker(wildcards.dataset)


def adapter_of(dataset):
    """The ingest adapter of a dataset: its source, or for a synthetic one the format it imitates
    (the LAV-DF stand-in writes LAV-DF's metadata.json; the others FakeAVCeleb's meta_data.csv)."""
    spec = config["datasets"][dataset]
    if spec["source"] != "synthetic":
        return spec["source"]
    return "lavdf" if spec["family"] == "lavdf" else "fakeavceleb"


def train_cfg(wildcards):
    """The parameters a training run reads, with its variant's changes applied. Of the studies, only
    what concerns this run: adding a variant to a study must not retrain every other run."""
    params = studies.apply_variant(config, wildcards.variant)
    keys = ("train", "model", "macbdf", "contrastive", "baselines", "log_mel", "media", "synth", "faces")
    keys += ("evaluate", "mlflow", "data_label")
    run = (wildcards.dataset, wildcards.method, wildcards.variant, int(wildcards.seed))
    return as_json(
        {k: params[k] for k in keys}
        | {
            "run": {
                "table": next((t for t in studies.TARGETS if run in studies.runs_of(config, t)), "extra"),
                "test_every_epoch": run in studies.runs_of(config, "fig67"),
            }
        }
    )


def shard_indexes(stage):
    """The shard indexes that a stage's index.csv merges (one job each)."""
    return lambda wc: [layout.shard_index(wc.dataset, stage, k, SHARDS) for k in range(SHARDS)]


def merge_shards(shards, index, log):
    """A stage's index.csv from its shards' indexes (in the order of one unsharded run)."""
    merged = clip_stage.merge_shards(list(shards), index)
    counts = merged["status"].value_counts().to_dict()
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    Path(log).write_text(f"{index}: {len(shards)} shards, {len(merged)} clips, {counts}\n")


def train_launcher():
    """`avdf`, or torchrun starting train.processes data-parallel copies of it on this node."""
    n = config["train"]["processes"]
    return "avdf" if n == 1 else f"python -m torch.distributed.run --standalone --nproc_per_node={n} -m avdf"


def job_resources(kind):
    """What a job of this kind asks a cluster for (params.yaml: resources; ignored when local)."""
    spec = config["resources"][kind]
    out = {"mem_mb": spec["mem_mb"], "runtime": spec["runtime_min"]}
    if spec.get("gpus", 0):
        out |= {"gpu": spec["gpus"]} | ({"gpu_model": spec["gpu_model"]} if spec.get("gpu_model") else {})
    return out


def eval_cfg(wildcards):
    keys = ("train", "evaluate", "mlflow", "data_label")
    return as_json({k: config[k] for k in keys} | {"table": studies.study_of(config, wildcards.variant)})


def eval_files(target):
    """The evaluation JSONs a table or figure reads."""
    return [layout.eval_json(*e) for e in studies.evals(config, target)]


def eval_score_files(target):
    return [layout.eval_scores(*e) for e in studies.evals(config, target)]


TABLE_STUDY = {  # results/<table>.csv -> the study it reports
    "table1": "table1",
    "table1_by_category": "table1",
    "table2": "table2",
    "table3": "table3",
    "table_contrastive": "contrastive",
    "table_frame_level": "frame_level",
}
FIG4_DATASET = studies.dataset_named(config, config["studies"]["fig4"]["dataset"])


def fig67_train_files():
    return sorted({layout.train_summary(e.train_dataset, e.method, e.variant, e.seed) for e in studies.evals(config, "fig67")})


def all_targets():
    """Every table and figure of the paper (and avdf's extras), as the ``all`` target builds them."""
    return [
        "results/table1.csv",
        "results/table1_by_category.csv",
        "results/table2.csv",
        "results/table3.csv",
        "results/table_contrastive.csv",
        *(["results/table_frame_level.csv"] if studies.evals(config, "frame_level") else []),
        "results/fig5_depth.png",
        "results/fig6_ompareto_loss.png",
        "results/fig4_latent.png",
        "results/rejects.csv",
        "results/metrics.json",
        *[f"results/audit_{d}.csv" for d in DATASETS],
        *[f"results/audit_{d}.png" for d in DATASETS],
    ]


def shortcut_warnings():
    """At the end of a run: one warning per flagged predictor of every audit on disk."""
    import pandas as pd
    from pathlib import Path
    from snakemake.logging import logger

    for csv in sorted(Path("results").glob("audit_*.csv")):
        for row in pd.read_csv(csv).query("shortcut").itertuples():
            logger.warning(
                f"WARNING shortcut: in {row.dataset}, {row.predictor} alone separates real from fake "
                f"(separability {row.separability:.1f}); see {csv} and the report"
            )


def raw_targets():
    return [layout.raw_meta(d) for d in DATASETS if config["datasets"][d]["source"] == "synthetic"]


def preprocess_targets():
    return [layout.stage_index(d, s) for d in DATASETS for s in layout.STAGES]


def train_targets():
    return [layout.train_summary(*run) for run in studies.runs(config)]


def eval_targets():
    return sorted({f for target in studies.TARGETS for f in eval_files(target)})
