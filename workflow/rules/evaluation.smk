# Stage 6c: evaluating the explanations (docs/attribution.md, "Evaluating the explanations").
# Per application and target, with the first seed's network: sanity checks (cascading layer
# randomisation and a network trained on shuffled labels) and faithfulness (deletion curves
# against random rankings) of every method of explain.rules; per method, the per-sample agreement
# of the relevance maps across all seeds. Each with a figure and a report table. The target list
# (evaluation_targets) is in targets.smk, the input functions are in common.smk.


rule explanation_sanity:
    input:
        model=evaluation_model,
        anomalies="results/{app}/anomalies.nc",
        labels="results/{app}/labels/{target}.csv",
    output:
        sanity="results/{app}/evaluation/{target}_sanity.nc",
    log:
        "logs/{app}/evaluation/{target}_sanity.log",
    benchmark:
        "results/benchmarks/{app}/evaluation/{target}_sanity.tsv"
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=training_memory_mb,
        runtime=30,
    params:
        methods=config["explain"]["rules"],
        backend=config["evaluation"].get("backend") or config["explain"]["backend"],
        parameters=json.dumps(config["explain"].get("parameters", {})),
        settings=json.dumps(config["evaluation"]),
        model_config=model_config,
        training_config=json.dumps(config["training"]),
        class_names=class_names_of_app,
        seed=evaluation_first_seed(),
        config=provenance_config("model", "training", "explain", "evaluation"),
    shell:
        "python -m geoxai explanation_sanity --model {input.model:q}"
        " --anomalies {input.anomalies:q} --labels {input.labels:q}"
        " --sanity {output.sanity:q} --methods {params.methods:q}"
        " --backend {params.backend:q} --parameters {params.parameters:q}"
        " --settings {params.settings:q} --model-config {params.model_config:q}"
        " --training-config {params.training_config:q}"
        " --class-names {params.class_names:q} --seed {params.seed}"
        " --config {params.config:q} > {log:q} 2>&1"


rule explanation_faithfulness:
    input:
        model=evaluation_model,
        anomalies="results/{app}/anomalies.nc",
        labels="results/{app}/labels/{target}.csv",
        relevance=evaluation_relevance,
    output:
        faithfulness="results/{app}/evaluation/{target}_faithfulness.nc",
    log:
        "logs/{app}/evaluation/{target}_faithfulness.log",
    benchmark:
        "results/benchmarks/{app}/evaluation/{target}_faithfulness.tsv"
    conda:
        "../../envs/learn.yaml"
    threads: 1
    resources:
        mem_mb=training_memory_mb,
        runtime=30,
    params:
        methods=config["explain"]["rules"],
        settings=json.dumps(config["evaluation"]),
        seed=evaluation_first_seed(),
        config=provenance_config("model", "training", "explain", "evaluation"),
    shell:
        "python -m geoxai explanation_faithfulness --model {input.model:q}"
        " --anomalies {input.anomalies:q} --labels {input.labels:q}"
        " --relevance {input.relevance:q} --faithfulness {output.faithfulness:q}"
        " --methods {params.methods:q} --settings {params.settings:q}"
        " --seed {params.seed} --config {params.config:q} > {log:q} 2>&1"


rule seed_agreement:
    input:
        relevance=expand(
            "results/{{app}}/relevance/{{target}}/seed{seed}_{{method}}.nc",
            seed=config["seeds"],
        ),
        anomalies="results/{app}/anomalies.nc",
    output:
        seed_agreement="results/{app}/evaluation/{target}/{method}_seed_agreement.nc",
    log:
        "logs/{app}/evaluation/{target}_{method}_seed_agreement.log",
    conda:
        "../../envs/learn.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=json.dumps(config["evaluation"]),
        class_names=class_names_of_app,
        config=provenance_config("explain", "evaluation"),
    shell:
        "python -m geoxai seed_agreement --relevance {input.relevance:q}"
        " --anomalies {input.anomalies:q} --seed-agreement {output.seed_agreement:q}"
        " --method {wildcards.method:q} --settings {params.settings:q}"
        " --class-names {params.class_names:q} --config {params.config:q} > {log:q} 2>&1"


rule figure_explanation_sanity:
    input:
        sanity="results/{app}/evaluation/{target}_sanity.nc",
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/sanity",
            "sanity",
            "Evaluating explanations",
            kind="sanity checks",
        ),
    log:
        "logs/{app}/figures/{target}_sanity.log",
    conda:
        "../../envs/figures.yaml"
    params:
        settings=json.dumps(config["figures"]),
    shell:
        "python -m geoxai figure_explanation_sanity --sanity {input.sanity:q}"
        " --output {output:q} --settings {params.settings:q} > {log:q} 2>&1"


rule figure_explanation_faithfulness:
    input:
        faithfulness="results/{app}/evaluation/{target}_faithfulness.nc",
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/faithfulness",
            "faithfulness",
            "Evaluating explanations",
        ),
    log:
        "logs/{app}/figures/{target}_faithfulness.log",
    conda:
        "../../envs/figures.yaml"
    params:
        settings=json.dumps(config["figures"]),
    shell:
        "python -m geoxai figure_explanation_faithfulness"
        " --faithfulness {input.faithfulness:q} --output {output:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule figure_sample_agreement:
    input:
        unpack(figure_region_inputs),
        seed_agreement="results/{app}/evaluation/{target}/{method}_seed_agreement.nc",
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/{method}_sample_agreement",
            "sample_agreement",
            "Evaluating explanations",
            kind="per-sample seed agreement",
        ),
    log:
        "logs/{app}/figures/{target}_{method}_sample_agreement.log",
    conda:
        "../../envs/figures.yaml"
    params:
        settings=json.dumps(config["figures"]),
        truth=optional_input("truth"),
        targets=optional_input("targets"),
        index_region=figure_index_region,
        shown=shown_names_of_app,
    shell:
        "python -m geoxai figure_sample_agreement"
        " --seed-agreement {input.seed_agreement:q} --output {output:q}"
        " --settings {params.settings:q}"
        " --app {wildcards.app} --target {wildcards.target}"
        " --truth={params.truth:q} --targets={params.targets:q}"
        " --index-region {params.index_region:q} > {log:q} 2>&1"


rule explanation_sanity_table:
    input:
        sanity="results/{app}/evaluation/{target}_sanity.nc",
    output:
        table=report(
            "results/{app}/report/{target}_sanity.html",
            caption="../report/sanity_table.rst",
            category="Evaluating explanations",
            subcategory="{app} {target}",
            labels=report_labels("table: sanity checks"),
        ),
    log:
        "logs/{app}/report/{target}_sanity.log",
    conda:
        "../../envs/figures.yaml"
    shell:
        "python -m geoxai explanation_sanity_table --sanity {input.sanity:q}"
        " --table {output.table:q} > {log:q} 2>&1"


rule explanation_faithfulness_table:
    input:
        faithfulness="results/{app}/evaluation/{target}_faithfulness.nc",
    output:
        table=report(
            "results/{app}/report/{target}_faithfulness.html",
            caption="../report/faithfulness_table.rst",
            category="Evaluating explanations",
            subcategory="{app} {target}",
            labels=report_labels("table: faithfulness"),
        ),
    log:
        "logs/{app}/report/{target}_faithfulness.log",
    conda:
        "../../envs/figures.yaml"
    shell:
        "python -m geoxai explanation_faithfulness_table"
        " --faithfulness {input.faithfulness:q} --table {output.table:q} > {log:q} 2>&1"


rule seed_agreement_table:
    input:
        seed_agreement=expand(
            "results/{{app}}/evaluation/{{target}}/{method}_seed_agreement.nc",
            method=config["explain"]["rules"],
        ),
    output:
        table=report(
            "results/{app}/report/{target}_seed_agreement.html",
            caption="../report/seed_agreement_table.rst",
            category="Evaluating explanations",
            subcategory="{app} {target}",
            labels=report_labels("table: per-sample seed agreement"),
        ),
    log:
        "logs/{app}/report/{target}_seed_agreement.log",
    conda:
        "../../envs/figures.yaml"
    shell:
        "python -m geoxai seed_agreement_table"
        " --seed-agreement {input.seed_agreement:q} --table {output.table:q} > {log:q} 2>&1"
