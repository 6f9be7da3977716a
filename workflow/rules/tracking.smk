# The MLflow store and experiment, created once before any training job starts.


rule mlflow_store:
    output:
        "runs/mlflow_store.json",
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/mlflow_store.log",
    shell:
        "avdf mlflow-init --uri {MLFLOW_URI} --experiment {MLFLOW_EXPERIMENT} --marker {output} 2> {log}"
