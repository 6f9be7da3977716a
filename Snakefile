# avdf: audio-visual deepfake detection, from raw video to tables.
# This file is the table of contents: the stages, then the targets. Parameters: params.yaml.
# Every job records its wall and CPU seconds and peak memory in logs/bench/ (benchmarks/scale.py).
from snakemake.utils import min_version

min_version("9.0")


configfile: "params.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/synth.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/demux.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/faces.smk"
include: "workflow/rules/face_crops.smk"
include: "workflow/rules/log_mel.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/tables.smk"


rule all:
    input:
        all_targets(),


rule synth_all:
    input:
        raw_targets(),


rule preprocess_all:
    input:
        preprocess_targets(),


rule train_all:
    input:
        train_targets(),


rule evaluate_all:
    input:
        eval_targets(),
