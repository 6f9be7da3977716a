# The MLflow store and experiment, created once before any training job starts.


rule mlflow_store:
    output:
        "runs/mlflow_store.json",
    params:
        uri=config["mlflow"]["tracking_uri"],
        experiment=config["mlflow"]["experiment"],
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/mlflow_store.log",
    shell:
        "avdf mlflow-init --uri {params.uri:q} --experiment {params.experiment:q} --marker {output} 2> {log}"
