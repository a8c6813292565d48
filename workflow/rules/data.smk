# Stage 1: the inputs of Application 1. Real data are downloaded (or linked, for a local path) into
# resources/enso/; with `enso.synthetic` set, data with a known answer are generated there instead.


def checksum_option(entry):
    return f"--sha256 {entry['sha256']}" if entry.get("sha256") else ""


if config["enso"].get("synthetic"):

    rule synthesize_enso:
        output:
            sst="resources/enso/sst.nc",
            index="resources/enso/index.txt",
            truth="resources/enso/truth.nc",
        log:
            "logs/enso/synthesize.log",
        benchmark:
            "results/benchmarks/enso/synthesize.tsv"
        params:
            settings=json.dumps(config["enso"]["synthetic"]),
        resources:
            mem_mb=2000,
            runtime=10,
        conda:
            "../../envs/data.yaml"
        shell:
            "{GEOXAI} synthesize-enso --settings {params.settings:q} --sst {output.sst:q}"
            " --index {output.index:q} --truth {output.truth:q} > {log:q} 2>&1"

else:

    rule fetch_enso_sst:
        output:
            "resources/enso/sst.nc",
        log:
            "logs/enso/fetch_sst.log",
        params:
            source=config["enso"]["sst"]["url"],
            checksum=checksum_option(config["enso"]["sst"]),
        retries: 2
        resources:
            mem_mb=500,
            runtime=60,
        conda:
            "../../envs/data.yaml"
        shell:
            "{GEOXAI} fetch --source {params.source:q} --output {output:q} --expected netcdf"
            " {params.checksum} > {log:q} 2>&1"

    rule fetch_enso_index:
        output:
            "resources/enso/index.txt",
        log:
            "logs/enso/fetch_index.log",
        params:
            source=config["enso"]["index"]["url"],
            checksum=checksum_option(config["enso"]["index"]),
        retries: 2
        resources:
            mem_mb=500,
            runtime=10,
        conda:
            "../../envs/data.yaml"
        shell:
            "{GEOXAI} fetch --source {params.source:q} --output {output:q} --expected text"
            " {params.checksum} > {log:q} 2>&1"

    localrules:
        fetch_enso_sst,
        fetch_enso_index,
