# Stage 4b: log-Mel cache (float16 .npy per clip), eq. (1).
# Shards (params.yaml: resources.preprocess_shards) are separate jobs on a cluster; log_mel merges them.


rule log_mel_shard:
    input:
        layout.stage_index("{dataset}", "demux"),
    output:
        layout.shard_index("{dataset}", "log_mel", "{shard}", SHARDS),
    params:
        shards=SHARDS,
        spec=as_json({"sample_rate": config["media"]["sample_rate"], "log_mel": config["log_mel"]}),
        code=code("avdf.stages.log_mel"),
        isa=ISA,
    resources:
        **job_resources("preprocess"),
    priority: 40  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/log_mel/{dataset}.{shard}.log",
    benchmark:
        "logs/bench/log_mel/{dataset}.{shard}.tsv"
    shell:
        "{params.isa} avdf log-mel --dataset {wildcards.dataset} --spec {params.spec}"
        " --shard {wildcards.shard}/{params.shards} --index-out {output} 2> {log}"


rule log_mel:
    input:
        shard_indexes("log_mel"),
    output:
        layout.stage_index("{dataset}", "log_mel"),
    localrule: True
    log:
        "logs/log_mel/{dataset}.merge.log",
    run:
        merge_shards(input, output[0], log[0])
