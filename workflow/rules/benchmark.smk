# Stage 6b: the attribution benchmark with exact answers (Mamalakis et al. 2022). For each
# application in attribution_benchmark.applications, inputs are drawn from the SST correlation of
# its anomaly file, a known additive response is learned by a network, and every method's maps
# are scored against the exact attribution of each sample.


rule attribution_benchmark:
    input:
        anomalies="results/{app}/anomalies.nc",
    output:
        scores="results/{app}/attribution_benchmark/scores.nc",
    log:
        "logs/{app}/attribution_benchmark/scores.log",
    benchmark:
        "results/benchmarks/{app}/attribution_benchmark.tsv"
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=benchmark_memory_mb,
        runtime=60,
    params:
        settings=json.dumps(config["attribution_benchmark"]),
        backend=config["explain"]["backend"],
        parameters=json.dumps(config["explain"].get("parameters", {})),
        config=provenance_config("attribution_benchmark", "explain"),
    shell:
        "python -m geoxai attribution_benchmark --anomalies {input.anomalies:q}"
        " --scores {output.scores:q} --settings {params.settings:q} --backend {params.backend:q}"
        " --parameters {params.parameters:q} --config {params.config:q} > {log:q} 2>&1"


rule figure_attribution_benchmark:
    input:
        scores="results/{app}/attribution_benchmark/scores.nc",
    output:
        **figure_outputs(
            "results/{app}/figures/attribution_benchmark",
            "attribution_benchmark",
            "Attribution benchmark",
            "{app}",
            kind="score distributions",
        ),
    log:
        "logs/{app}/figures/attribution_benchmark.log",
    conda:
        "../../envs/figures.yaml"
    params:
        settings=json.dumps(config["figures"]),
    shell:
        "python -m geoxai figure_attribution_benchmark --scores {input.scores:q}"
        " --output {output:q} --settings {params.settings:q} > {log:q} 2>&1"


rule attribution_benchmark_table:
    input:
        scores="results/{app}/attribution_benchmark/scores.nc",
    output:
        table=report(
            "results/{app}/report/attribution_benchmark.html",
            caption="../report/attribution_benchmark_table.rst",
            category="Attribution benchmark",
            subcategory="{app}",
            labels=report_labels("table: median scores"),
        ),
    log:
        "logs/{app}/report/attribution_benchmark.log",
    conda:
        "../../envs/figures.yaml"
    shell:
        "python -m geoxai attribution_benchmark_table --scores {input.scores:q}"
        " --table {output.table:q} > {log:q} 2>&1"
