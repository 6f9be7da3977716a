# Stage 3: face detection (MTCNN on keyframes) and tracking.


rule faces:
    input:
        layout.stage_index("{dataset}", "demux"),
    output:
        layout.stage_index("{dataset}", "faces"),
    params:
        cfg=as_json(config["faces"]),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/faces/{dataset}.log",
    shell:
        "avdf faces --dataset {wildcards.dataset} --cfg {params.cfg} 2> {log}"
