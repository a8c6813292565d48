# Stage 7: figures, drawn offline from the NetCDF/JSON products. Every PNG goes into the report
# (`snakemake --report results/report.html`); `figures.formats` adds vector copies (pdf, svg).


rule figure_composites:
    input:
        "results/{app}/composites/{target}/{lrp_rule}.nc",
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/{lrp_rule}_composites_class{class_index}",
            "composites",
            "Composites",
        ),
    log:
        "logs/{app}/figures/{target}_{lrp_rule}_composites_class{class_index}.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=json.dumps(config["figures"]),
    shell:
        "python -m geoxai plot composites --inputs {input:q} --outputs {output:q}"
        " --class-index {wildcards.class_index} --settings {params.settings:q} > {log:q} 2>&1"


rule figure_seed_agreement:
    input:
        "results/{app}/composites/{target}/{lrp_rule}.nc",
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/{lrp_rule}_agreement_class{class_index}",
            "seed_agreement",
            "Agreement between seeds",
        ),
    log:
        "logs/{app}/figures/{target}_{lrp_rule}_agreement_class{class_index}.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=json.dumps(config["figures"]),
    shell:
        "python -m geoxai plot seed-agreement --inputs {input:q} --outputs {output:q}"
        " --class-index {wildcards.class_index} --settings {params.settings:q} > {log:q} 2>&1"


rule figure_case_study:
    input:
        unpack(case_study_inputs),
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/{lrp_rule}_case_{case}",
            "case_study",
            "Case studies",
        ),
    log:
        "logs/{app}/figures/{target}_{lrp_rule}_case_{case}.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=json.dumps(config["figures"]),
        truth=lambda wildcards, input: input.get("truth", ""),
    shell:
        "python -m geoxai plot case-study --inputs {input.anomalies:q} {input.relevance:q}"
        " --outputs {output:q} --case {wildcards.case:q} --truth={params.truth:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule figure_training:
    input:
        expand(
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
        "python -m geoxai plot training --inputs {input:q} --outputs {output:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule figure_index:
    input:
        "results/{app}/labels/{target}.csv",
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
        labels=index_figure_labels,
    shell:
        "python -m geoxai plot index --inputs {input:q} --outputs {output:q} --labels {params.labels:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule evaluation_table:
    input:
        "results/{app}/evaluation/{target}.csv",
    output:
        report(
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
        "python -m geoxai table --inputs {input:q} --outputs {output:q} > {log:q} 2>&1"


rule run_summary:
    input:
        data_inputs,
    output:
        report(
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
        "python -m geoxai summary --inputs {input:q} --outputs {output:q} --config {params.config:q}"
        " > {log:q} 2>&1"


# Application 2: the skill of every land box's networks on one map, beside persistence.


rule lst_skill:
    input:
        unpack(lst_skill_inputs),
    output:
        "results/lst/skill.nc",
    log:
        "logs/lst/skill.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        config=provenance_config("seeds", "lst.targets", "lst.labels", "training"),
    shell:
        "python -m geoxai skill --evaluations {input.evaluations:q} --labels {input.labels:q}"
        " --targets {input.targets:q} --output {output:q} --config {params.config:q} > {log:q} 2>&1"


rule figure_skill_map:
    input:
        "results/lst/skill.nc",
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
        "python -m geoxai plot skill-map --inputs {input:q} --outputs {output:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"
