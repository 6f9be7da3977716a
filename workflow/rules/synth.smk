# Stage 1: the embedded synthetic datasets (FakeAVCeleb metadata format).


rule synth:
    output:
        layout.raw_meta("{dataset}"),
    params:
        family=lambda wc: config["datasets"][wc.dataset]["family"],
        cfg=as_json(config["synth"]),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/synth/{dataset}.log",
    shell:
        "avdf synth --family {params.family} --name {wildcards.dataset} --out-root data/raw/synthetic"
        " --cfg {params.cfg} 2> {log}"
