# Stage 2: demux with ffmpeg: constant 25 fps video and 16 kHz mono audio per clip.


rule demux:
    input:
        layout.manifest("{dataset}"),
    output:
        layout.stage_index("{dataset}", "demux"),
    params:
        cfg=as_json(config["media"]),
    priority: 40  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/demux/{dataset}.log",
    shell:
        "avdf demux --dataset {wildcards.dataset} --cfg {params.cfg} 2> {log}"
