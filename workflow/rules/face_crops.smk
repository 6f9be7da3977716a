# Stage 4a: face-crop cache (.npz per clip: JPEG crops at the rate a model samples; avdf.media.crop_cache).
# Shards (params.yaml: resources.preprocess_shards) are separate jobs on a cluster; face_crops merges them.


rule face_crops_shard:
    input:
        layout.stage_index("{dataset}", "faces"),
    output:
        layout.shard_index("{dataset}", "face_crops", "{shard}", SHARDS),
    params:
        shards=SHARDS,
        spec=lambda wc: as_json(specs.CropSpec.of(config, wc.dataset)),
        code=code("avdf.stages.face_crops"),
    resources:
        **job_resources("preprocess"),
    priority: 40  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/face_crops/{dataset}.{shard}.log",
    benchmark:
        "logs/bench/face_crops/{dataset}.{shard}.tsv"
    shell:
        "avdf face-crops --dataset {wildcards.dataset} --spec {params.spec}"
        " --shard {wildcards.shard}/{params.shards} --index-out {output} 2> {log}"


rule face_crops:
    input:
        shard_indexes("face_crops"),
    output:
        layout.stage_index("{dataset}", "face_crops"),
    localrule: True
    log:
        "logs/face_crops/{dataset}.merge.log",
    run:
        merge_shards(input, output[0], log[0])
