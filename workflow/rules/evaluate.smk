# Stage 6: evaluation of a checkpoint on another dataset's test split (cross-dataset, Table 3).
# In-dataset evaluations come out of the training job itself (rule train); this rule would write
# the same files from the checkpoint, and the ruleorder says which of the two makes them.


ruleorder: train > evaluate


rule evaluate:
    input:
        unpack(lambda wc: layout.cache_inputs(wc.eval_dataset)),
        model=layout.checkpoint("{train_dataset}", "{method}", "{variant}", "{seed}"),
        store=ancient("runs/mlflow_store.json"),
    output:
        metrics=layout.eval_json("{train_dataset}", "{method}", "{variant}", "{seed}", "{eval_dataset}"),
        scores=layout.eval_scores("{train_dataset}", "{method}", "{variant}", "{seed}", "{eval_dataset}"),
    params:
        spec=eval_spec,
        code=lambda wc: method_code("avdf.evaluation.evaluate", wc.method),
        isa=ISA,
    threads: config["train"]["threads"]
    resources:
        **job_resources("evaluate"),
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/evaluate/{train_dataset}/{method}/{variant}/seed{seed}/{eval_dataset}.log",
    benchmark:
        "logs/bench/evaluate/{train_dataset}/{method}/{variant}/seed{seed}/{eval_dataset}.tsv"
    shell:
        "{params.isa} avdf evaluate --checkpoint {input.model} --train-dataset {wildcards.train_dataset}"
        " --eval-dataset {wildcards.eval_dataset} --seed {wildcards.seed} --out-json {output.metrics}"
        " --scores {output.scores} --spec {params.spec} --runtime \"$AVDF_RUNTIME\" 2> {log}"
