# Stage 5: explanations of each network. LRP relevance of the winning logit for every labelled sample
# (raw, per seed and rule), and backwards optimization: the optimal input of each class.


rule relevance:
    input:
        model="results/{app}/models/{target}/seed{seed}.h5",
        anomalies="results/{app}/anomalies.nc",
        labels="results/{app}/labels/{target}.csv",
    output:
        relevance="results/{app}/relevance/{target}/seed{seed}_{lrp_rule}.nc",
    log:
        "logs/{app}/relevance/{target}_seed{seed}_{lrp_rule}.log",
    benchmark:
        "results/benchmarks/{app}/relevance/{target}_seed{seed}_{lrp_rule}.tsv"
    group:
        "networks"
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=training_memory_mb,
        runtime=30,
    params:
        backend=config["explain"]["backend"],
        epsilon=config["explain"]["epsilon"],
        class_names=class_names_of_app,
        config=provenance_config("model", "training", "explain"),
    shell:
        "python -m geoxai relevance --model {input.model:q} --anomalies {input.anomalies:q}"
        " --labels {input.labels:q} --relevance {output.relevance:q} --lrp-rule {wildcards.lrp_rule}"
        " --backend {params.backend:q} --seed {wildcards.seed} --epsilon {params.epsilon}"
        " --class-names {params.class_names:q} --config {params.config:q} > {log:q} 2>&1"


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
