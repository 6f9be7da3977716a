# Stage 1b: metadata -> manifest (one row per clip) + the split as a versioned file, through the
# dataset's adapter (avdf.data.<source>); the report says what ingest found (duplicates, missing).


rule ingest:
    input:
        raw_meta,
    output:
        manifest=layout.manifest("{dataset}"),
        split=layout.split("{dataset}", PROTOCOL),
        report=layout.ingest_report("{dataset}"),
    params:
        source=lambda wc: adapter_of(wc.dataset),
        spec=lambda wc: as_json(ingest_spec(wc.dataset)),
        code=lambda wc: ingest_code(wc.dataset),
    priority: 45  # preprocess every dataset first, so training jobs keep both cores busy
    conda:
        "../../envs/avdf.yaml"
    log:
        "logs/ingest/{dataset}.log",
    benchmark:
        "logs/bench/ingest/{dataset}.tsv"
    shell:
        "avdf ingest --source {params.source} --root {input:q} --manifest {output.manifest}"
        " --split {output.split} --report {output.report} --spec {params.spec} 2> {log}"
