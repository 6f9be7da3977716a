# Stage 3: face detection (MTCNN on keyframes) and tracking.


rule faces:
    input:
        layout.stage_index("{dataset}", "demux"),
    output:
        layout.stage_index("{dataset}", "faces"),
    params:
        cfg=as_json(config["faces"]),
    priority: 40  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/faces/{dataset}.log",
    shell:
        "avdf faces --dataset {wildcards.dataset} --cfg {params.cfg} 2> {log}"
