# Stage 5: training, per dataset, method, variant (params.yaml: variants) and seed.
# The job also scores the dataset's own test split (in-dataset evaluation, stage 6) while the model
# is in memory: the same files `rule evaluate` writes, without a second process per run.
# With train.processes > 1 it runs data-parallel under torchrun (avdf.learning.distributed).


rule train:
    input:
        unpack(lambda wc: layout.cache_inputs(wc.dataset)),
        store=ancient("runs/mlflow_store.json"),
    output:
        model=layout.checkpoint("{dataset}", "{method}", "{variant}", "{seed}"),
        summary=layout.train_summary("{dataset}", "{method}", "{variant}", "{seed}"),
        metrics=layout.eval_json("{dataset}", "{method}", "{variant}", "{seed}", "{dataset}"),
        scores=layout.eval_scores("{dataset}", "{method}", "{variant}", "{seed}", "{dataset}"),
    params:
        spec=train_spec,
        code=lambda wc: method_code("avdf.learning.train", wc.method),  # it evaluates in-process too
        isa=ISA,
        out_dir=lambda wc: layout.run_dir(wc.dataset, wc.method, wc.variant, wc.seed),
    threads: config["train"]["threads"] * config["train"]["processes"]
    resources:
        **job_resources("train"),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/train/{dataset}/{method}/{variant}/seed{seed}.log",
    benchmark:
        "logs/bench/train/{dataset}/{method}/{variant}/seed{seed}.tsv"
    shell:
        "{params.isa} avdf train --out-dir {params.out_dir} --spec {params.spec} --runtime \"$AVDF_RUNTIME\""
        " --eval-json {output.metrics} --scores {output.scores} 2> {log}"
