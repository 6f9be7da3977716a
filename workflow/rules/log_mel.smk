# Stage 4b: log-Mel cache (float16 .npy per clip), eq. (1).


rule log_mel:
    input:
        layout.stage_index("{dataset}", "demux"),
    output:
        layout.stage_index("{dataset}", "log_mel"),
    params:
        cfg=as_json({"sample_rate": config["media"]["sample_rate"], "log_mel": config["log_mel"]}),
    priority: 40  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/log_mel/{dataset}.log",
    shell:
        "avdf log-mel --dataset {wildcards.dataset} --cfg {params.cfg} 2> {log}"
