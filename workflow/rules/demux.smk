# Stage 2: demux with ffmpeg: constant 25 fps video and 16 kHz mono audio per clip.


rule demux:
    input:
        layout.manifest("{dataset}"),
    output:
        layout.stage_index("{dataset}", "demux"),
    params:
        cfg=as_json(config["media"]),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/demux/{dataset}.log",
    shell:
        "avdf demux --dataset {wildcards.dataset} --cfg {params.cfg} 2> {log}"
