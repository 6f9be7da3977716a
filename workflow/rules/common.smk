# Helpers shared by the rules: config validation, the specs each job receives, target lists.
#
# A job's `params` are the serialised spec it reads (avdf.contracts.specs) and the fingerprint of the code it
# runs (avdf.contracts.fingerprints: the import closure of its entry module), nothing else: Snakemake reruns a
# job exactly when one of them changes. How a job runs (threads, processes, the MLflow store, the
# data label) reaches it through the environment variable AVDF_RUNTIME, which reruns nothing: every
# Snakemake process sets it from its config when it reads this file, cluster jobs included.
import json
import os
import shlex
from pathlib import Path

from avdf.contracts import layout, methods, numerics, specs, stage_runner
from avdf.reporting import studies
from avdf.data import sources
from avdf.contracts.config import ParamsError, validate_params
from avdf.contracts.fingerprints import code_fingerprint

try:
    validate_params(config, source="params.yaml (with any --config/--configfile overrides)")
except ParamsError as error:
    raise WorkflowError(str(error)) from None
if sources.unknown_sources(config):
    raise WorkflowError("params.yaml (with any overrides):\n" + "\n".join(sources.unknown_sources(config)))

DATASETS = [d for d, spec in config["datasets"].items() if spec.get("enabled", True)]
VARIANTS = list(config["variants"])
PROTOCOL = config["split"]["protocol"]
SHARDS = config["resources"]["preprocess_shards"]
TRAIN_SPECS = studies.train_specs(config)
SRC = Path(workflow.basedir) / "src" / "avdf"


def as_json(obj):
    """A spec (or a plain section) as one shell-quoted JSON argument for the avdf command."""
    return shlex.quote(specs.to_json(obj) if not isinstance(obj, dict) else json.dumps(obj, sort_keys=True))


# Set here, never read from the caller's environment (hence no `envvars:` to assert it): each
# Snakemake process, a cluster job's too, derives it from the config it was given.
os.environ.update(AVDF_RUNTIME=specs.to_json(specs.Runtime.of(config)))


wildcard_constraints:
    dataset="|".join(DATASETS),
    train_dataset="|".join(DATASETS),
    eval_dataset="|".join(DATASETS),
    method="|".join(methods.METHODS),
    variant="|".join(VARIANTS),
    seed=r"\d+",
    shard=r"\d+",


# The instruction sets of every job that computes with PyTorch (face tracks, log-Mel, training,
# evaluation, Fig. 4): a params entry, so that changing numerics.cpu_isa reruns exactly those jobs.
ISA = numerics.shell_prefix(config["numerics"]["cpu_isa"])


def code(*modules):
    """The fingerprint of the avdf code a job runs: its entry modules' import closure."""
    return code_fingerprint(*modules, root=SRC)


def method_code(entry, method):
    """The code of a job that runs ``method``'s model: its entry module and the method's own module
    (a registry member: the other methods' modules are not part of it, avdf.contracts.fingerprints)."""
    return code(entry, "avdf.evaluation.evaluate", f"avdf.contracts.methods.{method}")


def raw_meta(wildcards):
    """What ingest reads: the generated metadata (synthetic), or the marker the fetch rule writes
    once a real dataset is on disk (a local copy, or a download)."""
    if config["datasets"][wildcards.dataset]["source"] == "synthetic":
        return layout.raw_meta(wildcards.dataset)
    return layout.raw_marker(wildcards.dataset)


def adapter_of(dataset):
    """The ingest adapter of a dataset (avdf.data.sources.adapter_name)."""
    return sources.adapter_name(config["datasets"][dataset])


def ingest_spec(dataset):
    """The split section, and what the dataset's adapter reads from its section (CSV: on_bad_rows)."""
    return config["split"] | sources.adapter_options(config["datasets"][dataset])


def train_spec(wildcards):
    """The TrainSpec of one run (avdf.reporting.studies.train_specs), as the train job's --spec."""
    run = specs.Run(wildcards.dataset, wildcards.method, wildcards.variant, int(wildcards.seed))
    if run not in TRAIN_SPECS:  # a run no study asks for, requested by its path
        TRAIN_SPECS[run] = specs.TrainSpec.of(studies.apply_variant(config, run.variant), run, "extra", False)
    return as_json(TRAIN_SPECS[run])


def shard_indexes(stage):
    """The shard indexes that a stage's index.csv merges (one job each)."""
    return lambda wc: [layout.shard_index(wc.dataset, stage, k, SHARDS) for k in range(SHARDS)]


def merge_shards(shards, index, log):
    """A stage's index.csv from its shards' indexes (in the order of one unsharded run)."""
    merged = stage_runner.merge_shards(list(shards), index)
    counts = merged["status"].value_counts().to_dict()
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    Path(log).write_text(f"{index}: {len(shards)} shards, {len(merged)} clips, {counts}\n")


def job_resources(kind):
    """What a job of this kind asks a cluster for (params.yaml: resources; ignored when local)."""
    spec = config["resources"][kind]
    out = {"mem_mb": spec["mem_mb"], "runtime": spec["runtime_min"]}
    if spec.get("gpus", 0):
        out |= {"gpu": spec["gpus"]} | ({"gpu_model": spec["gpu_model"]} if spec.get("gpu_model") else {})
    return out


def eval_spec(wildcards):
    """What an evaluation job reads besides the checkpoint: the ACC threshold, its MLflow table tag."""
    table = studies.study_of(config, wildcards.variant)
    return as_json({"threshold": config["evaluate"]["threshold"], "table": table})


def table_spec(target):
    return as_json(studies.table_spec(config, target))


def eval_files(target):
    """The evaluation JSONs a table or figure reads."""
    return [layout.eval_json(*e) for e in studies.evals(config, target)]


def eval_score_files(target):
    return [layout.eval_scores(*e) for e in studies.evals(config, target)]


# The tables the generic ``table`` rule builds (a study with its own rule builds its own files).
TABLE_OUTPUTS = {Path(s.csv).stem: s for s in studies.STUDIES.values() if s.rule == "table"}


def study_of_table(table):
    """The study whose CSV is results/<table>.csv."""
    return TABLE_OUTPUTS[table].name


def ingest_code(dataset):
    """The code of an ingest job: the manifest and the dataset's adapter (a registry member)."""
    return code("avdf.data.manifest", sources.adapter(adapter_of(dataset)).__name__)


def table_code(table):
    """The code a table job runs: the module of its study's table function, and the publishing."""
    return code(TABLE_OUTPUTS[table].table.partition(":")[0], "avdf.reporting.publish")


def error_runs(dataset):
    """Table 1's runs on ``dataset`` of its first seed: the error analysis looks at the best one."""
    found = [e for e in studies.evals(config, "table1") if e.eval_dataset == dataset]
    return [e for e in found if e.seed == found[0].seed]


def errors_spec(dataset):
    runs = {
        e.method: {"checkpoint": layout.checkpoint(*e[:4]), "scores": layout.eval_scores(*e), "seed": e.seed}
        for e in error_runs(dataset)
    }
    return as_json({"runs": runs, "count": config["report"]["error_clips"], "data_label": config["data_label"]})


ERROR_DATASETS = sorted({e.eval_dataset for e in studies.evals(config, "table1")})


FIG4_DATASET = studies.dataset_named(config, config["studies"]["fig4"]["dataset"])


def fig67_train_files():
    return sorted({layout.train_summary(e.train_dataset, e.method, e.variant, e.seed) for e in studies.evals(config, "fig67")})


def all_targets():
    """Every table and figure of the registered studies (the paper's and avdf's extras), the
    metrics, the rejects, and each dataset's audit and error analysis, as ``all`` builds them."""
    return [
        *[f for s in studies.built(config) for f in [s.csv, *s.pngs]],
        "results/rejects.csv",
        "results/metrics.json",
        *[f"results/audit_{d}.csv" for d in DATASETS],
        *[f"results/audit_{d}.png" for d in DATASETS],
        *[f"results/errors_{d}.png" for d in ERROR_DATASETS],
    ]


def metrics_tables():
    """The CSVs whose numbers go into results/metrics.json."""
    return [s.csv for s in studies.STUDIES.values() if s.metrics]


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
    return sorted({f for name in studies.STUDIES for f in eval_files(name)})
