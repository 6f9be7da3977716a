# Stage 1: the embedded synthetic datasets (FakeAVCeleb metadata format).


rule synth:
    output:
        layout.raw_meta("{dataset}"),
    params:
        family=lambda wc: config["datasets"][wc.dataset]["family"],
        spec=as_json(config["synth"]),
        code=code("avdf.synthetic.generator"),
    # Synthesise every dataset first, so training jobs keep all cores busy. Snakemake picks the set
    # of ready jobs with the largest summed priority that fits the free cores; a synthesis job asks
    # for synth_workers cores (all of a 2-core machine), so its priority must beat any two other
    # jobs' together (ingest 45 + 45), or single-core jobs fill each freed core before it fits.
    priority: 100
    conda:
        "../../envs/avdf.yaml"
    # Rendering workers. A fixed number, not --cores: a cluster job asks for exactly this many CPUs,
    # and a job asking for more than any node has waits forever (SLURM: PartitionConfig).
    threads: config["resources"]["synth_workers"]
    log:
        "logs/synth/{dataset}.log",
    benchmark:
        "logs/bench/synth/{dataset}.tsv"
    shell:
        "avdf synth --family {params.family} --name {wildcards.dataset} --out-root data/raw/synthetic"
        " --spec {params.spec} --workers {threads} 2> {log}"
