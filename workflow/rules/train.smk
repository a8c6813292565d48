# Stage 4: one classifier per seed (and per target), then one accuracy table over the seeds.
# Shared by both applications: they differ only in the anomaly file and the label table.


rule train:
    input:
        anomalies="results/{app}/anomalies.nc",
        labels="results/{app}/labels/{target}.csv",
    output:
        model="results/{app}/models/{target}/seed{seed}.h5",
        metrics="results/{app}/models/{target}/seed{seed}.json",
    log:
        "logs/{app}/train/{target}_seed{seed}.log",
    benchmark:
        "results/benchmarks/{app}/train/{target}_seed{seed}.tsv"
    group:
        "networks"
    conda:
        "../../envs/learn.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=training_memory_mb,
        runtime=30,
    params:
        model_config=model_config,
        training_config=json.dumps(config["training"]),
        class_names=class_names_of_app,
    shell:
        "python -m geoxai train --anomalies {input.anomalies:q} --labels {input.labels:q} --seed {wildcards.seed}"
        " --model {output.model:q} --metrics {output.metrics:q} --model-config {params.model_config:q}"
        " --training-config {params.training_config:q} --class-names {params.class_names:q}"
        " > {log:q} 2>&1"


rule evaluate:
    input:
        metrics=expand(
            "results/{{app}}/models/{{target}}/seed{seed}.json", seed=config["seeds"]
        ),
    output:
        evaluation="results/{app}/evaluation/{target}.csv",
    log:
        "logs/{app}/evaluate/{target}.log",
    conda:
        "../../envs/learn.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "python -m geoxai evaluate --metrics {input.metrics:q} --evaluation {output.evaluation:q}"
        " > {log:q} 2>&1"
