"""Where every file of the workflow lives: one place for the Snakemake rules and the CLI alike.

Data flow one way, each step in its own folder::

    data/raw/synthetic/<dataset>/meta_data.csv   raw clips (DVC-tracked)
    data/raw/<dataset>.json                      where a real dataset's root is (local or downloaded)
    data/manifests/<dataset>.csv                 one row per clip
    data/splits/<dataset>/<protocol>.csv         the split, a versioned file
    data/interim/<dataset>/{demux,faces}/        demuxed media, face tracks
    data/cache/<dataset>/{face_crops,log_mel}/   model inputs (JPEG crops .npz / float16 .npy)
    runs/<dataset>/<method>/<variant>/seed<k>/   checkpoint + train.json
    evals/<train>/<method>/<variant>/seed<k>/<eval>.json   metrics (+ per-clip scores)
    results/                                     tables
"""

from __future__ import annotations

STAGES = ("demux", "faces", "face_crops", "log_mel")


def raw_meta(dataset: str) -> str:
    return f"data/raw/synthetic/{dataset}/meta_data.csv"


def raw_marker(dataset: str) -> str:
    """Written once a real dataset is on disk: its root and what its metadata lists."""
    return f"data/raw/{dataset}.json"


def ingest_report(dataset: str) -> str:
    return f"data/manifests/{dataset}.ingest.json"


def manifest(dataset: str) -> str:
    return f"data/manifests/{dataset}.csv"


def split(dataset: str, protocol: str) -> str:
    return f"data/splits/{dataset}/{protocol}.csv"


def stage_dir(dataset: str, stage: str) -> str:
    group = "interim" if stage in ("demux", "faces") else "cache"
    return f"data/{group}/{dataset}/{stage}"


def stage_index(dataset: str, stage: str) -> str:
    return f"{stage_dir(dataset, stage)}/index.csv"


def shard_index(dataset: str, stage: str, shard: int | str, shards: int | str) -> str:
    """The index one shard (job) of a stage writes; the stage's index.csv merges them."""
    return f"{stage_dir(dataset, stage)}/shards/{shard}-of-{shards}.csv"


def caches(dataset: str) -> dict:
    """The model inputs of one dataset, as training and evaluation read them."""
    return {
        "manifest": manifest(dataset),
        "crops_dir": stage_dir(dataset, "face_crops"),
        "crops_index": stage_index(dataset, "face_crops"),
        "log_mel_dir": stage_dir(dataset, "log_mel"),
        "log_mel_index": stage_index(dataset, "log_mel"),
        "demux_dir": stage_dir(dataset, "demux"),  # the waveforms a raw-audio front end reads
    }


CACHE_INPUTS = ("manifest", "crops_index", "log_mel_index")  # the files of caches() that name the clips


def cache_inputs(dataset: str) -> dict:
    """The files whose change means the model inputs of ``dataset`` changed (Snakemake inputs)."""
    c = caches(dataset)
    return {k: c[k] for k in CACHE_INPUTS}


def run_dir(dataset: str, method: str, variant: str, seed: int | str) -> str:
    """One training run; ``variant`` names a set of parameter changes (params.yaml: variants)."""
    return f"runs/{dataset}/{method}/{variant}/seed{seed}"


def checkpoint(dataset: str, method: str, variant: str, seed: int | str) -> str:
    return f"{run_dir(dataset, method, variant, seed)}/model.pt"


def train_summary(dataset: str, method: str, variant: str, seed: int | str) -> str:
    return f"{run_dir(dataset, method, variant, seed)}/train.json"


def eval_dir(train_dataset: str, method: str, variant: str, seed: int | str) -> str:
    return f"evals/{train_dataset}/{method}/{variant}/seed{seed}"


def eval_scores(train_dataset: str, method: str, variant: str, seed: int | str, eval_dataset: str) -> str:
    return f"{eval_dir(train_dataset, method, variant, seed)}/{eval_dataset}_scores.csv"


def eval_json(train_dataset: str, method: str, variant: str, seed: int | str, eval_dataset: str) -> str:
    return f"{eval_dir(train_dataset, method, variant, seed)}/{eval_dataset}.json"
