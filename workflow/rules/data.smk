# Stage 1: the inputs of Application 1. Real data are downloaded (or linked, for a local path) into
# resources/enso/; with `enso.synthetic` set, data with a known answer are generated there instead.


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
        conda:
            "../../envs/data.yaml"
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            settings=json.dumps(config["enso"]["synthetic"]),
        shell:
            "python -m geoxai synthesize_enso --settings {params.settings:q} --sst {output.sst:q}"
            " --index {output.index:q} --truth {output.truth:q} > {log:q} 2>&1"

else:

    rule fetch_enso_sst:
        output:
            sst="resources/enso/sst.nc",
        log:
            "logs/enso/fetch_sst.log",
        retries: 2
        conda:
            "../../envs/data.yaml"
        resources:
            mem_mb=500,
            runtime=60,
        params:
            source=config["enso"]["sst"]["url"],
            checksum=config["enso"]["sst"].get("sha256") or "",
        shell:
            "python -m geoxai fetch_enso_sst --source {params.source:q} --sst {output.sst:q}"
            " --checksum={params.checksum:q} > {log:q} 2>&1"

    rule fetch_enso_index:
        output:
            index="resources/enso/index.txt",
        log:
            "logs/enso/fetch_index.log",
        retries: 2
        conda:
            "../../envs/data.yaml"
        resources:
            mem_mb=500,
            runtime=10,
        params:
            source=config["enso"]["index"]["url"],
            checksum=config["enso"]["index"].get("sha256") or "",
        shell:
            "python -m geoxai fetch_enso_index --source {params.source:q} --index {output.index:q}"
            " --checksum={params.checksum:q} > {log:q} 2>&1"

    localrules:
        fetch_enso_sst,
        fetch_enso_index,


# Application 2: the CESM control run's SST, 2-m temperature and land fraction, read for the
# configured years only from the configured stores (anonymous S3 Zarr by default). With
# `lst.synthetic` set, CESM-like stores with a known answer are generated first, in the AWS
# bucket's layout, and read by the same fetch rules.

if lst_synthetic():

    rule synthesize_lst:
        output:
            stores=directory(LST_SYNTHETIC_STORES),
            truth="resources/lst/truth.nc",
            truth_json="resources/lst/truth.json",
        log:
            "logs/lst/synthesize.log",
        benchmark:
            "results/benchmarks/lst/synthesize.tsv"
        conda:
            "../../envs/data.yaml"
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            settings=json.dumps(config["lst"]["synthetic"]),
            truth_dir=lambda wildcards, output: os.path.dirname(output.truth),
        shell:
            "python -m geoxai synthesize_lst --settings {params.settings:q}"
            " --stores {output.stores:q} --truth-dir {params.truth_dir:q} > {log:q} 2>&1"


rule fetch_lst_field:
    input:
        lst_store_inputs,
    output:
        fetched="resources/lst/{field}.nc",
    log:
        "logs/lst/fetch_{field}.log",
    wildcard_constraints:
        field="sst|trefht",
    retries: 2
    conda:
        "../../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        store=lambda wildcards: lst_store(wildcards.field),
        variable=lambda wildcards: config["lst"][wildcards.field]["variable"],
        month_stamp=lambda wildcards: config["lst"][wildcards.field].get(
            "month_stamp", "auto"
        ),
        grid_store=lst_grid_store,
        years=config["lst"]["years"],
        section=lambda wildcards: f"lst.{wildcards.field}",
        config=lambda wildcards: provenance_config(
            f"lst.{wildcards.field}", "lst.years", "lst.synthetic"
        )(wildcards),
    shell:
        "python -m geoxai fetch_lst_field --store {params.store:q} --variable {params.variable:q}"
        " --years {params.years} --month-stamp {params.month_stamp:q}"
        " --grid-store={params.grid_store:q} --section {params.section:q}"
        " --fetched {output.fetched:q} --config {params.config:q}"
        " > {log:q} 2>&1"


# The public CESM1-LE bucket has no atmosphere static store: without a configured one, the land
# fraction is computed from the shipped Natural Earth polygons on the grid of the fetched TREFHT.
if lst_landfrac_computed():

    rule compute_lst_landfrac:
        input:
            trefht="resources/lst/trefht.nc",
        output:
            landfrac="resources/lst/landfrac.nc",
        log:
            "logs/lst/compute_landfrac.log",
        conda:
            # shapely and pyshp, which read the polygons, come with cartopy
            "../../envs/figures.yaml"
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            variable=config["lst"]["landfrac"]["variable"],
            trefht_variable=config["lst"]["trefht"]["variable"],
            config=provenance_config("lst.landfrac"),
        shell:
            "python -m geoxai compute_lst_landfrac --trefht {input.trefht:q}"
            " --landfrac {output.landfrac:q}"
            " --variable {params.variable:q} --trefht-variable {params.trefht_variable:q}"
            " --config {params.config:q} > {log:q} 2>&1"

    localrules:
        compute_lst_landfrac,

else:

    rule fetch_lst_landfrac:
        input:
            lst_store_inputs,
        output:
            landfrac="resources/lst/landfrac.nc",
        log:
            "logs/lst/fetch_landfrac.log",
        retries: 2
        conda:
            "../../envs/data.yaml"
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            store=lst_store("landfrac"),
            variable=config["lst"]["landfrac"]["variable"],
            config=provenance_config("lst.landfrac", "lst.synthetic"),
        shell:
            "python -m geoxai fetch_lst_landfrac --store {params.store:q}"
            " --variable {params.variable:q} --landfrac {output.landfrac:q}"
            " --config {params.config:q}"
            " > {log:q} 2>&1"

    localrules:
        fetch_lst_landfrac,


localrules:
    fetch_lst_field,
