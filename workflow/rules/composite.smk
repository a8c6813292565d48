# Stage 6: composite relevance per class over correctly classified samples, per seed and over seeds,
# the seeds' agreement, the observed SST composite and the mean optimal input (of the networks
# that reached the target probability), with the networks' validation accuracy against chance.


rule composite:
    input:
        unpack(composite_inputs),
    output:
        composite="results/{app}/composites/{target}/{method}.nc",
    log:
        "logs/{app}/composite/{target}/{method}.log",
    conda:
        "../../envs/learn.yaml"
    resources:
        mem_mb=lambda wildcards, input: 1000 + 2 * int(input.size_mb),
        runtime=15,
    params:
        subset=config["composite"]["samples"],
        class_names=class_names_of_app,
        config=provenance_config(
            "seeds", "model", "training", "explain", "optimal_input", "composite"
        ),
    shell:
        "python -m geoxai composite --relevance {input.relevance:q} --optimal-input {input.optimal_input:q}"
        " --anomalies {input.anomalies:q} --labels {input.labels:q} --evaluation {input.evaluation:q}"
        " --composite {output.composite:q}"
        " --subset {params.subset:q} --class-names {params.class_names:q}"
        " --config {params.config:q} > {log:q} 2>&1"
