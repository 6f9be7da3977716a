# Stage 2: demux with ffmpeg: constant 25 fps video and 16 kHz mono audio per clip.
# Shards (params.yaml: resources.preprocess_shards) are separate jobs on a cluster; demux merges them.


rule demux_shard:
    input:
        layout.manifest("{dataset}"),
    output:
        layout.shard_index("{dataset}", "demux", "{shard}", SHARDS),
    params:
        shards=SHARDS,
        spec=as_json(specs.DemuxSpec.of(config)),
        code=code("avdf.stages.demux"),
    resources:
        **job_resources("preprocess"),
    priority: 40  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/demux/{dataset}.{shard}.log",
    benchmark:
        "logs/bench/demux/{dataset}.{shard}.tsv"
    shell:
        "avdf demux --dataset {wildcards.dataset} --spec {params.spec}"
        " --shard {wildcards.shard}/{params.shards} --index-out {output} 2> {log}"


rule demux:
    input:
        shard_indexes("demux"),
    output:
        layout.stage_index("{dataset}", "demux"),
    localrule: True
    log:
        "logs/demux/{dataset}.merge.log",
    run:
        merge_shards(input, output[0], log[0])
