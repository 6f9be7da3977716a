# Stage 4a: face-crop cache (uint8 .npy per clip).


rule face_crops:
    input:
        layout.stage_index("{dataset}", "faces"),
    output:
        layout.stage_index("{dataset}", "face_crops"),
    params:
        cfg=as_json(config["faces"]),
    priority: 40  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/face_crops/{dataset}.log",
    shell:
        "avdf face-crops --dataset {wildcards.dataset} --cfg {params.cfg} 2> {log}"
