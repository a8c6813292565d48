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
    conda:
        "../../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        index_spec=index_reading_spec(),
        settings=json.dumps(config["enso"]["labels"]),
    shell:
        "python -m geoxai enso_labels --index {input.index:q} --anomalies {input.anomalies:q}"
        " --table {output.table:q} --counts {output.counts:q} --index-spec {params.index_spec:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


# Application 2: seasonal 2-m temperature anomaly of each land box (which boxes count as land is
# known only from the land fraction, hence a checkpoint), then one label table per box: the sign
# of the box anomaly `lead` seasons after each SST season, with the persistence forecast.


checkpoint lst_targets:
    input:
        trefht="resources/lst/trefht.nc",
        landfrac="resources/lst/landfrac.nc",
    output:
        targets="results/lst/targets.nc",
        boxes="results/lst/targets.json",
    log:
        "logs/lst/targets.log",
    benchmark:
        "results/benchmarks/lst/targets.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 2
    resources:
        # Box means are taken block by block; only the (season, box) table is held.
        mem_mb=lambda wildcards, input: 1500 + int(0.05 * input.size_mb),
        runtime=lambda wildcards, input: 10 + int(input.size_mb / 1000),
    params:
        settings=json.dumps(config["lst"]["targets"]),
        anomaly_settings=json.dumps(config["lst"]["anomalies"]),
        # climatology and drift are fitted on the labels' training period only
        train_fraction=config["lst"]["labels"]["train_fraction"],
        trefht_variable=config["lst"]["trefht"]["variable"],
        landfrac_variable=config["lst"]["landfrac"]["variable"],
        config=provenance_config(
            "lst.trefht",
            "lst.landfrac",
            "lst.years",
            "lst.targets",
            "lst.anomalies",
            "lst.labels.train_fraction",
        ),
    shell:
        "python -m geoxai lst_targets --trefht {input.trefht:q} --landfrac {input.landfrac:q}"
        " --targets {output.targets:q} --boxes {output.boxes:q} --settings {params.settings:q}"
        " --anomaly-settings {params.anomaly_settings:q}"
        " --train-fraction {params.train_fraction}"
        " --trefht-variable {params.trefht_variable:q}"
        " --landfrac-variable {params.landfrac_variable:q} --config {params.config:q}"
        " > {log:q} 2>&1"


rule lst_labels:
    input:
        targets="results/lst/targets.nc",
        anomalies="results/lst/anomalies.nc",
    output:
        table="results/lst/labels/{target}.csv",
    log:
        "logs/lst/labels/{target}.log",
    conda:
        "../../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        lead=config["lst"]["targets"]["lead"],
        settings=json.dumps(config["lst"]["labels"]),
    shell:
        "python -m geoxai lst_labels --targets {input.targets:q} --anomalies {input.anomalies:q}"
        " --target {wildcards.target:q} --table {output.table:q} --lead {params.lead}"
        " --settings {params.settings:q} > {log:q} 2>&1"
