"""Stage 5: the workflow end to end (the offline demo from an empty folder), and Snakemake's own
cost of building the DAG of a run with hundreds of networks (``snakemake -n``).

Application 2's networks (one per target box and seed) are only known after its targets
checkpoint has run, so a dry run cannot list them; the stand-in for "hundreds of networks" is the
ENSO application with that many seeds (each seed: one train, one relevance per rule and one
optimal input per class).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from measure import OUTPUT, REPOSITORY, Figure, load_average, now

CONFIGS = [REPOSITORY / "config" / "config.yaml", REPOSITORY / "config" / "demo.yaml"]


def find_snakemake(explicit: str | None) -> str:
    """The workflow environment's snakemake: --snakemake, $GEOXAI_WORKFLOW_VENV, .venv/workflow."""
    candidates = [explicit] if explicit else []
    if os.environ.get("GEOXAI_WORKFLOW_VENV"):
        candidates.append(str(Path(os.environ["GEOXAI_WORKFLOW_VENV"]) / "bin" / "snakemake"))
    candidates += [str(REPOSITORY / ".venv" / "workflow" / "bin" / "snakemake"), shutil.which("snakemake")]
    for candidate in filter(None, candidates):
        if Path(candidate).exists():
            return candidate
    raise SystemExit("no snakemake found: pass --snakemake PATH or set GEOXAI_WORKFLOW_VENV (make setup)")


def snakemake_command(snakemake: str, folder: Path, extra_configs: list[Path] = ()) -> list[str]:
    return [snakemake, "--snakefile", str(REPOSITORY / "Snakefile"), "--directory", str(folder),
            "--configfile", *map(str, [*CONFIGS, *extra_configs]), "--cores", "2",
            "--config", f"analysis_python={sys.executable}"]


def run_with_peak_memory(command: list[str], log: Path, environment: dict[str, str] | None = None,
                         ) -> tuple[float, float, float, int]:
    """Wall time, peak total RSS of the process tree (MiB), largest single RSS (MiB), exit code.

    The tree is sampled every 0.2 s, so jobs shorter than that may be missed.
    """
    start = time.perf_counter()
    peak_total = peak_single = 0.0
    with open(log, "w") as stream:
        process = psutil.Popen(command, stdout=stream, stderr=stream, cwd=REPOSITORY, env=environment)
        while process.poll() is None:
            total = 0.0
            for member in [process, *process.children(recursive=True)]:
                try:
                    rss = member.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                total += rss
                peak_single = max(peak_single, rss)
            peak_total = max(peak_total, total)
            time.sleep(0.2)
    return time.perf_counter() - start, peak_total, peak_single, process.returncode


def job_benchmarks(folder: Path) -> list[dict[str, str]]:
    """Snakemake's own per-job records (the rules' ``benchmark:`` files)."""
    rows = []
    for path in sorted((folder / "results" / "benchmarks").rglob("*.tsv")):
        with open(path) as stream:
            for row in csv.DictReader(stream, delimiter="\t"):
                rows.append({"job": str(path.relative_to(folder / "results" / "benchmarks")), **row})
    return rows


def demo(snakemake: str) -> list[Figure]:
    folder = Path(tempfile.mkdtemp(prefix="demo-", dir=OUTPUT / "scratch"))
    command = snakemake_command(snakemake, folder)
    before = load_average()
    seconds, peak_total, peak_single, code = run_with_peak_memory(command, OUTPUT / "demo.log")
    load = (before, load_average())
    jobs = job_benchmarks(folder)
    shutil.rmtree(folder, ignore_errors=True)
    if code != 0:
        return [Figure("workflow", "demo workflow FAILED", "config/demo.yaml", float("nan"), "s",
                       note=f"exit {code}; see benchmarks/output/demo.log", load=load, date=now(),
                       command="python benchmarks/run.py --only workflow")]
    job_seconds = sum(float(row["s"]) for row in jobs)
    slowest = sorted(jobs, key=lambda row: -float(row["s"]))[:3]
    largest = max(jobs, key=lambda row: float(row["max_rss"] or 0), default=None)
    slowest_text = ", ".join(f"{Path(row['job']).with_suffix('')} {float(row['s']):.0f} s" for row in slowest)
    shown = " ".join(command).replace(str(REPOSITORY) + "/", "")
    figures = [
        Figure("workflow", "demo workflow from an empty folder, wall time",
               f"config/demo.yaml ({len(jobs)} jobs with benchmark records)", round(seconds), "s",
               reference=f"sum of job times {job_seconds:.0f} s on 2 cores; slowest: {slowest_text}",
               note=f"command: {shown}", load=load, date=now(),
               command="python benchmarks/run.py --only workflow"),
        Figure("workflow", "demo workflow, peak memory of the process tree", "config/demo.yaml",
               round(peak_total), "MiB",
               reference=f"largest single process {peak_single:.0f} MiB"
               + (f"; largest job record: {Path(largest['job']).with_suffix('')} "
                  f"{float(largest['max_rss']):.0f} MiB" if largest else ""),
               note="RSS summed over snakemake and its children, sampled every 0.2 s", load=load,
               date=now(), command="python benchmarks/run.py --only workflow"),
    ]
    return figures


def slurm_query_seconds() -> float | None:
    """Seconds of ``scontrol show config``, which the SLURM executor plugin runs when Snakemake
    imports it (every snakemake command, local runs too), or None without a SLURM client."""
    if not shutil.which("scontrol"):
        return None
    start = time.perf_counter()
    try:
        subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        pass
    return time.perf_counter() - start


def without_slurm_client(folder: Path) -> dict[str, str]:
    """An environment whose ``scontrol`` fails at once: Snakemake's own cost, without the
    plugin's query of a SLURM controller (up to 10 s where the client has no controller)."""
    shim = folder / "no-slurm"
    shim.mkdir(exist_ok=True)
    script = shim / "scontrol"
    script.write_text("#!/bin/sh\nexit 1\n")
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}


def dry_run(snakemake: str, networks: int, folder: Path) -> tuple[float, int]:
    """Seconds for ``snakemake -n`` with ``networks`` seeds, and the number of jobs it lists."""
    seeds = folder / f"seeds_{networks}.yaml"
    seeds.write_text("seeds: [" + ", ".join(map(str, range(networks))) + "]\n")
    command = [*snakemake_command(snakemake, folder, [seeds]), "-n"]
    log = folder / f"dry_run_{networks}.log"
    seconds, _, _, code = run_with_peak_memory(command, log, without_slurm_client(folder))
    text = log.read_text()
    if code != 0:
        raise RuntimeError(f"snakemake -n failed (exit {code}):\n{text[-2000:]}")
    total = re.search(r"^total\s+(\d+)", text, re.MULTILINE)
    return seconds, int(total.group(1)) if total else -1


def dag(snakemake: str, counts: list[int]) -> list[Figure]:
    folder = Path(tempfile.mkdtemp(prefix="dag-", dir=OUTPUT / "scratch"))
    figures = []
    try:
        for networks in counts:
            before = load_average()
            seconds, jobs = dry_run(snakemake, networks, folder)
            figures.append(Figure(
                "workflow", "snakemake -n (parse + DAG), wall time",
                f"{networks} networks (ENSO seeds as stand-in), {jobs} jobs", round(seconds, 1), "s",
                reference=f"goal < 10 s; {1e3 * seconds / max(jobs, 1):.1f} ms per job",
                note="empty folder: every job is listed; SLURM plugin's scontrol query stubbed out",
                load=(before, load_average()), date=now(),
                command=f"python benchmarks/run.py --only dag --dag-networks {networks}"))
        before = load_average()
        query = slurm_query_seconds()
        if query is not None:
            figures.append(Figure(
                "workflow", "scontrol show config (SLURM plugin import, every snakemake call)",
                "this machine's SLURM client", round(query, 2), "s",
                reference="added to every snakemake command while the plugin is installed",
                note="the executor plugin runs it at import, with a 10 s timeout",
                load=(before, load_average()), date=now(), command="python benchmarks/run.py --only dag"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return figures
