# Stage 1b: metadata -> manifest (one row per clip) + the split as a versioned file.


rule ingest:
    input:
        raw_meta,
    output:
        manifest=layout.manifest("{dataset}"),
        split=layout.split("{dataset}", PROTOCOL),
    params:
        cfg=as_json(config["split"]),
    priority: 45  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/ingest/{dataset}.log",
    shell:
        "avdf ingest --meta {input:q} --manifest {output.manifest} --split {output.split}"
        " --cfg {params.cfg} 2> {log}"
