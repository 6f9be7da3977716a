# Stage 5: training, per dataset, method, variant (params.yaml: variants) and seed.


rule train:
    input:
        unpack(lambda wc: layout.cache_inputs(wc.dataset)),
        store=ancient("runs/mlflow_store.json"),
    output:
        model=layout.checkpoint("{dataset}", "{method}", "{variant}", "{seed}"),
        summary=layout.train_summary("{dataset}", "{method}", "{variant}", "{seed}"),
    params:
        cfg=train_cfg,
        code=TRAIN_CODE,
        out_dir=lambda wc: layout.run_dir(wc.dataset, wc.method, wc.variant, wc.seed),
    threads: config["train"]["threads"]
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/train/{dataset}/{method}/{variant}/seed{seed}.log",
    shell:
        "avdf train --dataset {wildcards.dataset} --method {wildcards.method} --variant {wildcards.variant}"
        " --seed {wildcards.seed} --out-dir {params.out_dir} --cfg {params.cfg} 2> {log}"
