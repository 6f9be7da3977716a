# Stage 7: tables (CSV) and figures (PNG), built only from the per-run JSON files above.
# Each target trains and evaluates whatever it is missing (avdf.reporting.studies: one registered entry per table or figure).


rule rejects:
    input:
        [layout.ingest_report(d) for d in DATASETS],
        [layout.stage_index(d, s) for d in DATASETS for s in layout.STAGES],
    output:
        "results/rejects.csv",
    params:
        spec=as_json({d: [layout.ingest_report(d)] + [layout.stage_index(d, s) for s in layout.STAGES] for d in DATASETS}),
        code=code("avdf.reporting.tables"),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/tables/rejects.log",
    shell:
        "avdf rejects --out {output} --spec {params.spec} 2> {log}"


rule table:
    input:
        evals=lambda wc: eval_files(study_of_table(wc.table)),
        scores=lambda wc: eval_score_files(study_of_table(wc.table)),
        store=ancient("runs/mlflow_store.json"),
    output:
        report("results/{table}.csv", caption="../report/table.rst", category="Tables"),
    wildcard_constraints:
        table="|".join(TABLE_OUTPUTS),
    params:
        name=lambda wc: study_of_table(wc.table),
        spec=lambda wc: table_spec(study_of_table(wc.table)),
        code=lambda wc: table_code(wc.table),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/tables/{table}.log",
    shell:
        "avdf table {params.name} --out {output} --spec {params.spec} --runtime \"$AVDF_RUNTIME\" {input.evals} 2> {log}"


rule errors:
    input:
        table="results/table1.csv",
        manifest=layout.manifest("{dataset}"),
        checkpoints=lambda wc: [layout.checkpoint(*e[:4]) for e in error_runs(wc.dataset)],
        scores=lambda wc: [layout.eval_scores(*e) for e in error_runs(wc.dataset)],
    output:
        csv="results/errors_{dataset}.csv",
        png=report("results/errors_{dataset}.png", caption="../report/errors.rst", category="Error analysis"),
    params:
        spec=lambda wc: errors_spec(wc.dataset),
        code=lambda wc: code(
            "avdf.reporting.error_analysis", *{f"avdf.contracts.methods.{e.method}" for e in error_runs(wc.dataset)}
        ),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/tables/errors_{dataset}.log",
    shell:
        "avdf errors --dataset {wildcards.dataset} --table {input.table} --manifest {input.manifest}"
        " --out {output.csv} --png {output.png} --spec {params.spec} 2> {log}"


rule fig5_depth:
    input:
        evals=eval_files("fig5"),
        scores=eval_score_files("fig5"),
        store=ancient("runs/mlflow_store.json"),
    output:
        csv="results/fig5_depth.csv",
        png=report("results/fig5_depth.png", caption="../report/fig5.rst", category="Figures"),
    params:
        spec=table_spec("fig5"),
        code=code("avdf.reporting.tables", "avdf.reporting.figures", "avdf.reporting.publish"),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/tables/fig5_depth.log",
    shell:
        "avdf table fig5 --out {output.csv} --png {output.png} --spec {params.spec} --runtime \"$AVDF_RUNTIME\""
        " {input.evals} 2> {log}"


rule fig67_om_pareto:
    input:
        runs=fig67_train_files(),
        store=ancient("runs/mlflow_store.json"),
    output:
        csv="results/fig67_ompareto.csv",
        loss=report("results/fig6_ompareto_loss.png", caption="../report/fig6.rst", category="Figures"),
        branches=report("results/fig7_ompareto_auc.png", caption="../report/fig7.rst", category="Figures"),
    params:
        spec=table_spec("fig67"),
        code=code("avdf.reporting.tables", "avdf.reporting.figures", "avdf.reporting.publish"),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/tables/fig67_ompareto.log",
    shell:
        "avdf table fig67 --out {output.csv} --png {output.loss} {output.branches} --spec {params.spec}"
        " --runtime \"$AVDF_RUNTIME\""
        " {input.runs} 2> {log}"


rule fig4_latent:
    input:
        unpack(lambda wc: layout.cache_inputs(FIG4_DATASET)),
        checkpoints=[layout.checkpoint(e.train_dataset, e.method, e.variant, e.seed) for e in studies.evals(config, "fig4")],
        store=ancient("runs/mlflow_store.json"),
    output:
        csv="results/fig4_latent.csv",
        png=report("results/fig4_latent.png", caption="../report/fig4.rst", category="Figures"),
    params:
        panels=" ".join(
            f"{shlex.quote(name)}={layout.checkpoint(e.train_dataset, e.method, e.variant, e.seed)}"
            for name, e in zip(config["studies"]["fig4"]["variants"], studies.evals(config, "fig4"))
        ),
        dataset=FIG4_DATASET,
        code=code("avdf.reporting.figures", "avdf.reporting.publish", f"avdf.contracts.methods.{methods.studied()}"),
        isa=ISA,
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/tables/fig4_latent.log",
    shell:
        "{params.isa} avdf latent --dataset {params.dataset} --checkpoint {params.panels} --out {output.csv}"
        " --png {output.png} --runtime \"$AVDF_RUNTIME\" 2> {log}"


rule metrics_json:
    input:
        tables=metrics_tables(),
    output:
        "results/metrics.json",
    params:
        code=code("avdf.reporting.tables"),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/tables/metrics_json.log",
    shell:
        "avdf metrics-json --out {output} {input.tables} 2> {log}"
