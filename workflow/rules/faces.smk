# Stage 3: face detection (MTCNN on keyframes) and tracking.
# Shards (params.yaml: resources.preprocess_shards) are separate jobs on a cluster; faces merges them.
# A job tracks resources.face_workers clips at once, its processes sharing one MTCNN (on a GPU node,
# one detector per GPU; avdf.media.shared_detector).


rule faces_shard:
    input:
        layout.stage_index("{dataset}", "demux"),
    output:
        layout.shard_index("{dataset}", "faces", "{shard}", SHARDS),
    params:
        shards=SHARDS,
        spec=as_json(specs.FacesSpec.of(config)),
        code=code("avdf.stages.face_tracks"),
        isa=ISA,
    threads: config["resources"]["face_workers"]
    resources:
        **job_resources("preprocess"),
    priority: 40  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/faces/{dataset}.{shard}.log",
    benchmark:
        "logs/bench/faces/{dataset}.{shard}.tsv"
    shell:
        "{params.isa} avdf faces --dataset {wildcards.dataset} --spec {params.spec}"
        " --shard {wildcards.shard}/{params.shards} --workers {threads} --index-out {output} 2> {log}"


rule faces:
    input:
        shard_indexes("faces"),
    output:
        layout.stage_index("{dataset}", "faces"),
    localrule: True
    log:
        "logs/faces/{dataset}.merge.log",
    run:
        merge_shards(input, output[0], log[0])
