# Stage 1: the embedded synthetic datasets (FakeAVCeleb metadata format).


rule synth:
    output:
        layout.raw_meta("{dataset}"),
    params:
        family=lambda wc: config["datasets"][wc.dataset]["family"],
        spec=as_json(config["synth"]),
        code=code("avdf.data.synthetic"),
    priority: 50  # preprocess every dataset first, so training jobs keep all cores busy
    conda:
        "../../envs/avdf.yaml"
    # One core per dataset: a job asking for every core would wait behind single-core jobs of the
    # datasets already synthesised until all cores happen to be free at once.
    threads: 4  # rendering workers (Snakemake caps it at --cores); the clips do not depend on their number
    log:
        "logs/synth/{dataset}.log",
    benchmark:
        "logs/bench/synth/{dataset}.tsv"
    shell:
        "avdf synth --family {params.family} --name {wildcards.dataset} --out-root data/raw/synthetic"
        " --spec {params.spec} --workers {threads} 2> {log}"
