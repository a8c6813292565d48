# Stage 5: explanations of each network. Relevance of the winning logit for every labelled sample
# (raw; one job per seed writes one file per method), and backwards optimization: the optimal
# input of each class.


rule relevance:
    input:
        model="results/{app}/models/{target}/seed{seed}.h5",
        anomalies="results/{app}/anomalies.nc",
        labels="results/{app}/labels/{target}.csv",
    output:
        relevance=expand(
            "results/{{app}}/relevance/{{target}}/seed{{seed}}_{method}.nc",
            method=config["explain"]["rules"],
        ),
    log:
        "logs/{app}/relevance/{target}_seed{seed}.log",
    benchmark:
        "results/benchmarks/{app}/relevance/{target}_seed{seed}.tsv"
    group:
        "networks"
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=training_memory_mb,
        runtime=30,
    params:
        methods=config["explain"]["rules"],
        backend=config["explain"]["backend"],
        parameters=json.dumps(config["explain"].get("parameters", {})),
        compression=config["explain"]["compression"],
        class_names=class_names_of_app,
        config=provenance_config("model", "training", "explain"),
    shell:
        "python -m geoxai relevance --model {input.model:q} --anomalies {input.anomalies:q}"
        " --labels {input.labels:q} --relevance {output.relevance:q} --methods {params.methods:q}"
        " --backend {params.backend:q} --seed {wildcards.seed} --parameters {params.parameters:q}"
        " --compression {params.compression:q} --class-names {params.class_names:q}"
        " --config {params.config:q} > {log:q} 2>&1"


rule optimal_input:
    input:
        model="results/{app}/models/{target}/seed{seed}.h5",
        anomalies="results/{app}/anomalies.nc",
        labels="results/{app}/labels/{target}.csv",
    output:
        optimal_input="results/{app}/optimal_input/{target}/seed{seed}_class{class_index}.nc",
    log:
        "logs/{app}/optimal_input/{target}_seed{seed}_class{class_index}.log",
    benchmark:
        "results/benchmarks/{app}/optimal_input/{target}_seed{seed}_class{class_index}.tsv"
    group:
        "networks"
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=training_memory_mb,
        runtime=30,
    params:
        settings=json.dumps(config["optimal_input"]),
        class_names=class_names_of_app,
        config=provenance_config("model", "training", "optimal_input"),
    shell:
        "python -m geoxai optimal_input --model {input.model:q} --anomalies {input.anomalies:q}"
        " --labels {input.labels:q} --optimal-input {output.optimal_input:q}"
        " --class-index {wildcards.class_index}"
        " --seed {wildcards.seed} --settings {params.settings:q}"
        " --class-names {params.class_names:q} --config {params.config:q} > {log:q} 2>&1"
