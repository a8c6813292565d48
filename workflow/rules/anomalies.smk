# Stage 2: monthly SST anomalies (climatology and trend removed, land = 0), out of core with dask.


rule enso_anomalies:
    input:
        sst="resources/enso/sst.nc",
    output:
        anomalies="results/enso/anomalies.nc",
    log:
        "logs/enso/anomalies.log",
    benchmark:
        "results/benchmarks/enso/anomalies.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 2
    resources:
        # One block of latitudes with the whole record, a few copies: bounded by the chunk size.
        mem_mb=lambda wildcards, input: 1000 + int(0.5 * input.size_mb),
        runtime=lambda wildcards, input: 10 + int(input.size_mb / 20),
    params:
        sst_spec=json.dumps(config["enso"]["sst"]),
        settings=json.dumps(config["enso"]["anomalies"]),
        config=provenance_config("enso.sst", "enso.anomalies"),
    shell:
        "python -m geoxai enso_anomalies --sst {input.sst:q} --anomalies {output.anomalies:q} --sst-spec {params.sst_spec:q}"
        " --settings {params.settings:q} --config {params.config:q} > {log:q} 2>&1"


rule lst_anomalies:
    input:
        sst="resources/lst/sst.nc",
    output:
        anomalies="results/lst/anomalies.nc",
    log:
        "logs/lst/anomalies.log",
    benchmark:
        "results/benchmarks/lst/anomalies.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 2
    resources:
        mem_mb=lst_anomaly_memory_mb,
        # Reading and binning the monthly fields dominates: about a minute per GB on one node.
        runtime=lambda wildcards, input: 10 + int(input.size_mb / 1000),
    params:
        variable=config["lst"]["sst"]["variable"],
        settings=json.dumps(config["lst"]["anomalies"]),
        # climatology and drift are fitted on the labels' training period only
        train_fraction=config["lst"]["labels"]["train_fraction"],
        config=provenance_config(
            "lst.sst", "lst.years", "lst.anomalies", "lst.labels.train_fraction"
        ),
    shell:
        "python -m geoxai lst_anomalies --sst {input.sst:q} --anomalies {output.anomalies:q}"
        " --variable {params.variable:q} --settings {params.settings:q}"
        " --train-fraction {params.train_fraction} --config {params.config:q}"
        " > {log:q} 2>&1"
