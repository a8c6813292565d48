# Stage 6b: significance of the composites (Labe & Barnes 2021). Networks trained on labels
# shuffled in blocks of a year, with the real networks' settings, each trained and explained in one
# job; per method the real composite against theirs (threshold, p-values, FDR) with a bootstrap
# spread, and its figure.

# The schema fills in every default (common.smk validates the config).
SIGNIFICANCE = config["significance"]
NULL_NETWORKS = range(SIGNIFICANCE["networks"])
NULL_SEED_OFFSET = SIGNIFICANCE["seed_offset"]
SIGNIFICANCE_METHODS = SIGNIFICANCE.get("methods") or config["explain"]["rules"]

require_explained("significance.methods", SIGNIFICANCE_METHODS)

_null_real_seeds = sorted(set(seeds()) & {NULL_SEED_OFFSET + k for k in NULL_NETWORKS})
if _null_real_seeds:
    raise ValueError(
        f"config key significance.seed_offset={NULL_SEED_OFFSET} gives null networks the real "
        f"seeds {_null_real_seeds}: raise it above every seed of `seeds`"
    )


rule null_network:
    input:
        anomalies="results/{app}/anomalies.nc",
        labels="results/{app}/labels/{target}.csv",
    output:
        model="results/{app}/significance/{target}/null{network}.h5",
        metrics="results/{app}/significance/{target}/null{network}.json",
        relevance=expand(
            "results/{{app}}/significance/{{target}}/null_relevance/null{{network}}_{method}.nc",
            method=SIGNIFICANCE_METHODS,
        ),
    log:
        "logs/{app}/null_network/{target}_null{network}.log",
    benchmark:
        "results/benchmarks/{app}/null_network/{target}_null{network}.tsv"
    wildcard_constraints:
        network=r"\d+",
    conda:
        "../../envs/learn.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=training_memory_mb,
        runtime=60,
    params:
        seed=null_seed,
        model_config=model_config,
        training_config=json.dumps(config["training"]),
        methods=SIGNIFICANCE_METHODS,
        backend=config["explain"]["backend"],
        parameters=json.dumps(config["explain"].get("parameters", {})),
        compression=config["explain"]["compression"],
        class_names=class_names_of_app,
        config=provenance_config(
            "model", "training", "explain", "significance.seed_offset"
        ),
    shell:
        "python -m geoxai null_network --anomalies {input.anomalies:q} --labels {input.labels:q}"
        " --seed {params.seed} --model {output.model:q} --metrics {output.metrics:q}"
        " --relevance {output.relevance:q} --methods {params.methods:q}"
        " --backend {params.backend:q} --parameters {params.parameters:q}"
        " --compression {params.compression:q}"
        " --model-config {params.model_config:q} --training-config {params.training_config:q}"
        " --class-names {params.class_names:q} --config {params.config:q} > {log:q} 2>&1"


rule significance:
    input:
        unpack(significance_inputs),
    output:
        significance="results/{app}/significance/{target}/{method}.nc",
    log:
        "logs/{app}/significance/{target}/{method}.log",
    benchmark:
        "results/benchmarks/{app}/significance/{target}_{method}.tsv"
    conda:
        "../../envs/learn.yaml"
    resources:
        mem_mb=lambda wildcards, input: 1000 + 4 * int(input.size_mb),
        runtime=30,
    params:
        subset=config["composite"]["samples"],
        class_names=class_names_of_app,
        settings=json.dumps(SIGNIFICANCE),
        config=provenance_config(
            "seeds", "model", "training", "explain", "composite", "significance"
        ),
    shell:
        "python -m geoxai significance --relevance {input.relevance:q}"
        " --null-relevance {input.null_relevance:q} --anomalies {input.anomalies:q}"
        " --labels {input.labels:q} --significance {output.significance:q}"
        " --class-names {params.class_names:q} --subset {params.subset:q}"
        " --settings {params.settings:q} --config {params.config:q} > {log:q} 2>&1"


rule figure_significance:
    input:
        unpack(figure_region_inputs),
        significance="results/{app}/significance/{target}/{method}.nc",
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/{method}_significance",
            "significance",
            "Significance",
            kind="significance",
        ),
    log:
        "logs/{app}/figures/{target}_{method}_significance.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=json.dumps(config["figures"]),
        truth=optional_input("truth"),
        targets=optional_input("targets"),
        index_region=figure_index_region,
        shown=shown_names_of_app,
    shell:
        "python -m geoxai figure_significance --significance {input.significance:q}"
        " --output {output:q} --settings {params.settings:q}"
        " --app {wildcards.app} --target {wildcards.target}"
        " --truth={params.truth:q} --targets={params.targets:q}"
        " --index-region {params.index_region:q} > {log:q} 2>&1"
