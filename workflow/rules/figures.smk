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
            kind="composites",
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
        index_region=figure_index_region,
        shown=shown_names_of_app,
    shell:
        "python -m geoxai figure_composites --composite {input.composite:q} --output {output:q}"
        " --class-index {wildcards.class_index} --settings {params.settings:q}"
        " --app {wildcards.app} --target {wildcards.target}"
        " --truth={params.truth:q} --targets={params.targets:q}"
        " --index-region {params.index_region:q} > {log:q} 2>&1"


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
            kind="methods compared",
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
        index_region=figure_index_region,
    shell:
        "python -m geoxai figure_methods --composite {input.composite:q} --output {output:q}"
        " --class-index {wildcards.class_index} --settings {params.settings:q}"
        " --app {wildcards.app} --target {wildcards.target}"
        " --truth={params.truth:q} --targets={params.targets:q}"
        " --index-region {params.index_region:q} > {log:q} 2>&1"


rule figure_seed_agreement:
    input:
        unpack(figure_region_inputs),
        composite="results/{app}/composites/{target}/{method}.nc",
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/{method}_agreement_class{class_index}",
            "seed_agreement",
            "Agreement between seeds",
            kind="seed agreement",
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
        index_region=figure_index_region,
    shell:
        "python -m geoxai figure_seed_agreement --composite {input.composite:q} --output {output:q}"
        " --class-index {wildcards.class_index} --settings {params.settings:q}"
        " --app {wildcards.app} --target {wildcards.target}"
        " --truth={params.truth:q} --targets={params.targets:q}"
        " --index-region {params.index_region:q} > {log:q} 2>&1"


rule figure_case_study:
    input:
        unpack(case_study_and_region_inputs),
    output:
        **figure_outputs(
            "results/{app}/figures/{target}/{method}_case_{case}",
            "case_study",
            "Case studies",
            kind="case study {case}",
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
        index_region=figure_index_region,
        shown=shown_names_of_app,
    shell:
        "python -m geoxai figure_case_study --anomalies {input.anomalies:q}"
        " --relevance {input.relevance:q} --output {output:q} --case {wildcards.case:q}"
        " --settings {params.settings:q}"
        " --app {wildcards.app} --target {wildcards.target}"
        " --truth={params.truth:q} --targets={params.targets:q}"
        " --index-region {params.index_region:q} > {log:q} 2>&1"


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
        **figure_outputs(
            "results/{app}/figures/{target}/index",
            "index",
            "Labels",
            kind="label index",
        ),
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
        shown=shown_names_of_app,
    shell:
        "python -m geoxai figure_index --labels {input.labels:q} --output {output:q}"
        " --wording {params.wording:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule evaluation_table:
    input:
        evaluation="results/{app}/evaluation/{target}.csv",
        labels="results/{app}/labels/{target}.csv",
        # each network's confusion matrix and class names
        metrics=expand(
            "results/{{app}}/models/{{target}}/seed{seed}.json", seed=config["seeds"]
        ),
    output:
        table=report(
            "results/{app}/report/{target}_accuracy.html",
            caption="../report/accuracy.rst",
            category="Accuracy",
            subcategory="{app}",
            labels=report_labels("table: accuracy"),
        ),
    log:
        "logs/{app}/report/{target}_accuracy.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "python -m geoxai evaluation_table --evaluation {input.evaluation:q}"
        " --labels {input.labels:q} --metrics {input.metrics:q} --table {output.table:q}"
        " > {log:q} 2>&1"


rule run_summary:
    input:
        sources=data_inputs,
    output:
        summary=report(
            "results/report/run_summary.html",
            caption="../report/run_summary.rst",
            category="Provenance",
            labels=report_labels("run summary"),
        ),
    log:
        "logs/report/run_summary.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config=lambda wildcards: config_record(config),
        configfiles=[str(path) for path in workflow.configfiles],
    shell:
        "python -m geoxai run_summary --sources {input.sources:q} --summary {output.summary:q}"
        " --config {params.config:q} --configfiles {params.configfiles:q}"
        " > {log:q} 2>&1"


# The demo's known answer: what the synthetic sources put into the data, against what the run's
# networks and explanations found (only in runs with a synthetic source; real data have no truth).


rule known_answer:
    input:
        unpack(known_answer_inputs),
    output:
        table=report(
            "results/report/known_answer.html",
            caption="../report/known_answer.rst",
            category="Known answer",
            labels=report_labels("table: known answer"),
        ),
        scores="results/report/known_answer.json",
    log:
        "logs/report/known_answer.log",
    conda:
        "../../envs/figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        enso_truth=known_answer_input("enso_truth"),
        enso_composites=known_answer_input("enso_composites", []),
        lst_truth=known_answer_input("lst_truth"),
        lst_truth_mask=known_answer_input("lst_truth_mask"),
        lst_skill=known_answer_input("lst_skill"),
        lst_composites=known_answer_input("lst_composites", []),
    shell:
        "python -m geoxai known_answer --enso-truth={params.enso_truth:q}"
        " --enso-composites {params.enso_composites:q}"
        " --lst-truth={params.lst_truth:q} --lst-truth-mask={params.lst_truth_mask:q}"
        " --lst-skill={params.lst_skill:q}"
        " --lst-composites {params.lst_composites:q}"
        " --table {output.table:q} --scores {output.scores:q} > {log:q} 2>&1"


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
            "results/lst/figures/skill_map",
            "skill_map",
            "Skill map",
            "lst",
            kind="skill map",
            app="lst",
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
