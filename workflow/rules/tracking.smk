# The MLflow store and experiment, created once before any training job starts.


rule mlflow_store:
    output:
        "runs/mlflow_store.json",
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/mlflow_store.log",
    shell:
        "avdf mlflow-init --runtime \"$AVDF_RUNTIME\" --marker {output} 2> {log}"
