# Stage 5: training, per dataset, method and seed.


rule train:
    input:
        unpack(lambda wc: layout.cache_inputs(wc.dataset)),
        store=ancient("runs/mlflow_store.json"),
    output:
        model=layout.checkpoint("{dataset}", "{method}", "{seed}"),
        summary=layout.train_summary("{dataset}", "{method}", "{seed}"),
    params:
        cfg=train_cfg(),
        out_dir=lambda wc: layout.run_dir(wc.dataset, wc.method, wc.seed),
    threads: config["train"]["threads"]
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/train/{dataset}/{method}/seed{seed}.log",
    shell:
        "avdf train --dataset {wildcards.dataset} --method {wildcards.method} --seed {wildcards.seed}"
        " --out-dir {params.out_dir} --cfg {params.cfg} 2> {log}"
