# Stage 2b: the shortcut audit of each dataset: can a trivial property of the files (leading
# silence, duration, size, bitrate) tell real from fake? Flagged predictors are warned about in the
# job log, at the end of the workflow, and in the report's figure.


rule audit:
    input:
        manifest=layout.manifest("{dataset}"),
        demux=layout.stage_index("{dataset}", "demux"),
    output:
        csv="results/audit_{dataset}.csv",
        png=report("results/audit_{dataset}.png", caption="../report/audit.rst", category="Shortcut audit"),
    params:
        spec=as_json({"audit": config["audit"], "data_label": config["data_label"]}),
        code=code("avdf.evaluation.audit"),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/audit/{dataset}.log",
    shell:
        "avdf audit --dataset {wildcards.dataset} --out {output.csv} --png {output.png} --spec {params.spec} 2> {log}"


onsuccess:
    shortcut_warnings()
