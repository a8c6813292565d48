# The default target (`all` in the Snakefile): every product and figure of each configured
# application. Application 2's boxes are known only after the lst_targets checkpoint, so its
# list is an input function.


def figure_files(stem):
    return [
        f"{stem}.{fmt}"
        for fmt in ["png"] + [f for f in config["figures"]["formats"] if f != "png"]
    ]


def figure_targets(app, target, case_studies=()):
    """Every figure of one application and target."""
    folder = f"results/{app}/figures/{target}"
    classes = range(len(class_names(app)))
    stems = [f"{folder}/training", f"{folder}/index"]
    if len(config["explain"]["rules"]) > 1:
        stems += [f"{folder}/methods_class{c}" for c in classes]
    for name in figure_methods():
        stems += [f"{folder}/{name}_composites_class{c}" for c in classes]
        stems += [f"{folder}/{name}_agreement_class{c}" for c in classes]
        stems += [f"{folder}/{name}_case_{case}" for case in case_studies]
    return [path for stem in stems for path in figure_files(stem)]


def enso_targets():
    app, target, methods = "enso", "nino34", config["explain"]["rules"]
    return [
        f"results/{app}/labels/{target}.csv",
        f"results/{app}/evaluation/{target}.csv",
        f"results/{app}/report/{target}_accuracy.html",
        *[f"results/{app}/composites/{target}/{r}.nc" for r in methods],
        *figure_targets(app, target, config["enso"].get("case_studies", [])),
    ]


def lst_boxes():
    """The land boxes kept by the lst_targets checkpoint (waits for it)."""
    boxes_json = checkpoints.lst_targets.get().output.boxes
    boxes = json.loads(Path(boxes_json).read_text())["boxes"]
    unknown = [
        box for box in config["lst"].get("explain_targets", []) if box not in boxes
    ]
    if unknown:
        raise ValueError(
            f"config key lst.explain_targets names {unknown}, which are not land boxes of this run "
            f"({boxes_json}: {', '.join(boxes)}): choose from these"
        )
    return boxes


def lst_box_files(stem):
    """`results/lst/<stem>/<box>.csv` of every box, after the checkpoint."""
    return [f"results/lst/{stem}/{box}.csv" for box in lst_boxes()]


def lst_targets_after_checkpoint(wildcards):
    methods = config["explain"]["rules"]
    case_studies = config["lst"].get("case_studies", [])
    products = ["results/lst/skill.nc", *figure_files("results/lst/figures/skill_map")]
    for box in lst_boxes():  # also checks lst.explain_targets against the kept boxes
        products.append(f"results/lst/report/{box}_accuracy.html")  # every box's
        if box not in config["lst"].get("explain_targets", []):
            continue
        products += [
            *[f"results/lst/composites/{box}/{r}.nc" for r in methods],
            *figure_targets("lst", box, case_studies),
        ]
    return products


def lst_products():
    return ["results/lst/anomalies.nc", lst_targets_after_checkpoint]


def benchmark_targets():
    """The attribution benchmark's scores, figure and report table of each application it
    draws its covariance from (those of attribution_benchmark.applications that run)."""
    apps = [a for a in config["attribution_benchmark"]["applications"] if a in APPS]
    return [
        path
        for app in apps
        for path in [
            f"results/{app}/attribution_benchmark/scores.nc",
            f"results/{app}/report/attribution_benchmark.html",
            *figure_files(f"results/{app}/figures/attribution_benchmark"),
        ]
    ]


def explained_targets(app):
    """The targets whose networks are explained and evaluated: nino34, and the boxes of
    lst.explain_targets (checked against the kept boxes by lst_targets_after_checkpoint).
    """
    if app == "enso":
        return ["nino34"]
    return list(config["lst"].get("explain_targets", []))


def evaluation_targets():
    """The evaluation products, figures and tables of Application 1 (nino34) and of the boxes of
    lst.explain_targets (checked against the kept boxes by lst_targets_after_checkpoint).
    """
    paths = []
    for app in APPS:
        for target in explained_targets(app):
            folder = f"results/{app}/evaluation/{target}"
            paths += [
                f"{folder}_sanity.nc",
                f"{folder}_faithfulness.nc",
                *[
                    f"{folder}/{m}_seed_agreement.nc"
                    for m in config["explain"]["rules"]
                ],
                f"results/{app}/report/{target}_sanity.html",
                f"results/{app}/report/{target}_faithfulness.html",
                f"results/{app}/report/{target}_seed_agreement.html",
                *figure_files(f"results/{app}/figures/{target}/sanity"),
                *figure_files(f"results/{app}/figures/{target}/faithfulness"),
            ]
            if len(seeds()) > 1:
                paths += [
                    path
                    for m in figure_methods()
                    for path in figure_files(
                        f"results/{app}/figures/{target}/{m}_sample_agreement"
                    )
                ]
    return paths


def significance_targets():
    """The significance products and figures of every explained target."""
    return [
        path
        for app in APPS
        for target in explained_targets(app)
        for path in [
            *[
                f"results/{app}/significance/{target}/{m}.nc"
                for m in SIGNIFICANCE_METHODS
            ],
            *[
                file
                for m in figure_methods()
                if m in SIGNIFICANCE_METHODS
                for file in figure_files(
                    f"results/{app}/figures/{target}/{m}_significance"
                )
            ],
        ]
    ]


def all_targets():
    """Everything of each configured application, then the provenance page. Items may be input
    functions (Application 2's boxes are known only after a checkpoint)."""
    per_application = {"enso": enso_targets, "lst": lst_products}
    return (
        [item for app in APPS for item in per_application[app]()]
        + benchmark_targets()
        + evaluation_targets()
        + significance_targets()
        + ["results/report/run_summary.html"]
        + (["results/report/known_answer.html"] if known_answer_apps() else [])
    )
