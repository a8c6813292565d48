# Stage 7: figures, drawn offline from the NetCDF/JSON products. Every PNG goes into the report
# (`snakemake --report results/report.html`); `figures.formats` adds vector copies (pdf, svg).


rule figure_composites:
    input:
        unpack(figure_region_inputs),
        composite="results/{app}/composites/{target}/{method}.nc",
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/{method}_composites_class{class_index}",
            "composites",
            "Composites",
        ),
    log:
        "logs/{app}/figures/{target}_{method}_composites_class{class_index}.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=json.dumps(config["figures"]),
        truth=optional_input("truth"),
        targets=optional_input("targets"),
    shell:
        "python -m geoxai figure_composites --composite {input.composite:q} --output {output:q}"
        " --class-index {wildcards.class_index} --settings {params.settings:q}"
        " --app {wildcards.app} --target {wildcards.target}"
        " --truth={params.truth:q} --targets={params.targets:q} > {log:q} 2>&1"


rule figure_methods:
    input:
        unpack(figure_region_inputs),
        composite=expand(
            "results/{{app}}/composites/{{target}}/{method}.nc",
            method=config["explain"]["rules"],
        ),
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/methods_class{class_index}",
            "methods",
            "Methods compared",
        ),
    log:
        "logs/{app}/figures/{target}_methods_class{class_index}.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=json.dumps(config["figures"]),
        truth=optional_input("truth"),
        targets=optional_input("targets"),
    shell:
        "python -m geoxai figure_methods --composite {input.composite:q} --output {output:q}"
        " --class-index {wildcards.class_index} --settings {params.settings:q}"
        " --app {wildcards.app} --target {wildcards.target}"
        " --truth={params.truth:q} --targets={params.targets:q} > {log:q} 2>&1"


rule figure_seed_agreement:
    input:
        unpack(figure_region_inputs),
        composite="results/{app}/composites/{target}/{method}.nc",
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/{method}_agreement_class{class_index}",
            "seed_agreement",
            "Agreement between seeds",
        ),
    log:
        "logs/{app}/figures/{target}_{method}_agreement_class{class_index}.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=json.dumps(config["figures"]),
        truth=optional_input("truth"),
        targets=optional_input("targets"),
    shell:
        "python -m geoxai figure_seed_agreement --composite {input.composite:q} --output {output:q}"
        " --class-index {wildcards.class_index} --settings {params.settings:q}"
        " --app {wildcards.app} --target {wildcards.target}"
        " --truth={params.truth:q} --targets={params.targets:q} > {log:q} 2>&1"


rule figure_case_study:
    input:
        unpack(case_study_and_region_inputs),
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/{method}_case_{case}",
            "case_study",
            "Case studies",
        ),
    log:
        "logs/{app}/figures/{target}_{method}_case_{case}.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=json.dumps(config["figures"]),
        truth=optional_input("truth"),
        targets=optional_input("targets"),
    shell:
        "python -m geoxai figure_case_study --anomalies {input.anomalies:q}"
        " --relevance {input.relevance:q} --output {output:q} --case {wildcards.case:q}"
        " --settings {params.settings:q}"
        " --app {wildcards.app} --target {wildcards.target}"
        " --truth={params.truth:q} --targets={params.targets:q} > {log:q} 2>&1"


rule figure_training:
    input:
        metrics=expand(
            "results/{{app}}/models/{{target}}/seed{seed}.json", seed=config["seeds"]
        ),
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/training", "training", "Training"
        ),
    log:
        "logs/{app}/figures/{target}_training.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=json.dumps(config["figures"]),
    shell:
        "python -m geoxai figure_training --metrics {input.metrics:q} --output {output:q}"
        " --settings {params.settings:q} --app {wildcards.app} --target {wildcards.target}"
        " > {log:q} 2>&1"


rule figure_index:
    input:
        labels="results/{app}/labels/{target}.csv",
    output:
        **figure_outputs("results/{app}/figures/{target}/index", "index", "Labels"),
    log:
        "logs/{app}/figures/{target}_index.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=json.dumps(config["figures"]),
        wording=index_figure_wording,
    shell:
        "python -m geoxai figure_index --labels {input.labels:q} --output {output:q}"
        " --wording {params.wording:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule evaluation_table:
    input:
        evaluation="results/{app}/evaluation/{target}.csv",
    output:
        table=report(
            "results/{app}/report/{target}_accuracy.html",
            caption="../report/accuracy.rst",
            category="Accuracy",
            subcategory="{app} {target}",
        ),
    log:
        "logs/{app}/report/{target}_accuracy.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "python -m geoxai evaluation_table --evaluation {input.evaluation:q} --table {output.table:q}"
        " > {log:q} 2>&1"


rule run_summary:
    input:
        sources=data_inputs,
    output:
        summary=report(
            "results/report/run_summary.html",
            caption="../report/run_summary.rst",
            category="Provenance",
        ),
    log:
        "logs/report/run_summary.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config=CONFIG_JSON,
    shell:
        "python -m geoxai run_summary --sources {input.sources:q} --summary {output.summary:q}"
        " --config {params.config:q}"
        " > {log:q} 2>&1"


# Application 2: the skill of every land box's networks on one map, beside persistence and
# chance (the best constant forecast), with a binomial test per box and the FDR over boxes.


rule lst_skill:
    input:
        unpack(lst_skill_inputs),
    output:
        skill="results/lst/skill.nc",
    log:
        "logs/lst/skill.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=json.dumps(config["lst"].get("skill", {})),
        config=provenance_config(
            "seeds", "lst.targets", "lst.labels", "lst.skill", "training"
        ),
    shell:
        "python -m geoxai lst_skill --evaluations {input.evaluations:q} --labels {input.labels:q}"
        " --metrics {input.metrics:q} --targets {input.targets:q} --skill {output.skill:q}"
        " --settings {params.settings:q} --config {params.config:q} > {log:q} 2>&1"


rule figure_skill_map:
    input:
        skill="results/lst/skill.nc",
    output:
        **figure_outputs(
            "results/lst/figures/skill_map", "skill_map", "Skill map", "lst"
        ),
    log:
        "logs/lst/figures/skill_map.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=json.dumps(config["figures"]),
    shell:
        "python -m geoxai figure_skill_map --skill {input.skill:q} --output {output:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"
