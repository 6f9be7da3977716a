# Stage 7: tables, built only from the per-run JSON files above.


rule rejects:
    input:
        [layout.stage_index(d, s) for d in DATASETS for s in layout.STAGES],
    output:
        "results/rejects.csv",
    params:
        cfg=as_json({d: [layout.stage_index(d, s) for s in layout.STAGES] for d in DATASETS}),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/tables/rejects.log",
    shell:
        "avdf rejects --out {output} --cfg {params.cfg} 2> {log}"


rule table1:
    input:
        evals=eval_targets(),
        rejects="results/rejects.csv",
    output:
        table="results/table1.csv",
        by_category="results/table1_by_category.csv",
    params:
        cfg=as_json(
            {"datasets": config["datasets"], "methods": METHODS, "data_label": config["data_label"]}
        ),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/tables/table1.log",
    shell:
        "avdf table1 --out {output.table} --by-category {output.by_category} --cfg {params.cfg}"
        " {input.evals} 2> {log}"
