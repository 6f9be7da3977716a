# Stage 6: evaluation of a checkpoint on a dataset's test split (in-dataset or cross-dataset).


rule evaluate:
    input:
        unpack(lambda wc: layout.cache_inputs(wc.eval_dataset)),
        model=layout.checkpoint("{train_dataset}", "{method}", "{seed}"),
        store=ancient("runs/mlflow_store.json"),
    output:
        metrics=layout.eval_json("{train_dataset}", "{method}", "{seed}", "{eval_dataset}"),
        scores=layout.eval_scores("{train_dataset}", "{method}", "{seed}", "{eval_dataset}"),
    params:
        cfg=as_json({k: config[k] for k in ("train", "evaluate", "mlflow", "data_label")}),
    threads: config["train"]["threads"]
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/evaluate/{train_dataset}/{method}/seed{seed}/{eval_dataset}.log",
    shell:
        "avdf evaluate --checkpoint {input.model} --train-dataset {wildcards.train_dataset}"
        " --eval-dataset {wildcards.eval_dataset} --seed {wildcards.seed} --out-json {output.metrics}"
        " --scores {output.scores} --cfg {params.cfg} 2> {log}"
