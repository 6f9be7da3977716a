# Stage 1: the embedded synthetic datasets (FakeAVCeleb metadata format).


rule synth:
    output:
        layout.raw_meta("{dataset}"),
    params:
        family=lambda wc: config["datasets"][wc.dataset]["family"],
        cfg=as_json(config["synth"]),
    priority: 50  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    threads: workflow.cores
    log:
        "logs/synth/{dataset}.log",
    shell:
        "avdf synth --family {params.family} --name {wildcards.dataset} --out-root data/raw/synthetic"
        " --cfg {params.cfg} --workers {threads} 2> {log}"
