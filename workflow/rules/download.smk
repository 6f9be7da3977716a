# Stage 1a: a real dataset onto disk. A local copy (datasets.<name>.root) is used where it is;
# otherwise the source's adapter downloads it into data/raw/<name>/ (resumable, checksummed against
# data/checksums/<name>.sha256, unpacked safely). A missing dataset stops here with a message that
# says which parameter or environment variable to set and where to request the data.


rule fetch:
    output:
        layout.raw_marker("{dataset}"),
    params:
        spec=lambda wc: as_json(config["datasets"][wc.dataset]),
    priority: 50
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/fetch/{dataset}.log",
    shell:
        "avdf fetch --dataset {wildcards.dataset} --marker {output} --spec {params.spec} 2> {log}"
