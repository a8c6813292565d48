# Stage 3: ENSO phase labels from the Nino3.4 index, aligned to the SST months, and the
# chronological train/validation split (with counts per class and split).


rule enso_labels:
    input:
        index="resources/enso/index.txt",
        anomalies="results/enso/anomalies.nc",
    output:
        table="results/enso/labels/nino34.csv",
        counts="results/enso/labels/nino34.counts.json",
    log:
        "logs/enso/labels.log",
    params:
        index_spec=json.dumps(config["enso"]["index"]),
        settings=json.dumps(config["enso"]["labels"]),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/data.yaml"
    shell:
        "{GEOXAI} labels --index {input.index:q} --anomalies {input.anomalies:q}"
        " --output {output.table:q} --counts {output.counts:q} --index-spec {params.index_spec:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"
