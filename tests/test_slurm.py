"""The workflow on a real one-node SLURM cluster, through profiles/slurm.

The cluster comes from tests/cluster/start_slurm.sh (root, Debian's SLURM packages). Where it cannot
be started the tests fail, unless GEOXAI_SKIP_SLURM=1 declares that this machine cannot run SLURM.
Every Snakemake call runs under `timeout -s INT`, so a hanging executor ends like a user's Ctrl-C
(jobs cancelled) and fails the test instead of the CI run.

Environment: GEOXAI_WORKFLOW_VENV (Snakemake + SLURM plugin, default <repo>/.venv/workflow),
GEOXAI_ANALYSIS_VENV (default <repo>/.venv/analysis), GEOXAI_SLURM_TARGET (targets of the demo run,
space separated; default: the workflow's default target), GEOXAI_SLURM_APPLICATIONS (comma separated,
default `enso`, so the suite stays well under 30 minutes; `enso,lst` runs the whole demo),
GEOXAI_SLURM_RUN_TIMEOUT (seconds per run). The demo runs twice (local profile, then SLURM): on 2
cores about 6 minutes for ENSO, about 20 for both applications.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SCRIPTS = REPO / "tests" / "cluster"
SLURM_PROFILE = REPO / "profiles" / "slurm"
LOCAL_PROFILE = REPO / "profiles" / "local"
RUN_TIMEOUT_S = int(os.environ.get("GEOXAI_SLURM_RUN_TIMEOUT", "2400"))

# A workflow small enough to fail and interrupt on purpose: a grouped pair of rules per number
# (one SLURM job for all of them via --group-components), a sum that waits while the file `hold`
# exists, and a rule that always fails.
TINY_SNAKEFILE = """
NUMBERS = [1, 2]

rule all:
    input: "total.txt"

rule make:
    output: "numbers/{n}.txt"
    group: "pair"
    shell: "echo {wildcards.n} > {output}"

rule square:
    input: "numbers/{n}.txt"
    output: "squares/{n}.txt"
    group: "pair"
    shell: "echo $(( $(cat {input}) ** 2 )) > {output}"

rule total:
    input: expand("squares/{n}.txt", n=NUMBERS)
    output: "total.txt"
    shell:
        "echo $$ > total.pid; while [ -e hold ]; do sleep 1; done; "
        "awk '{{s += $1}} END {{print s}}' {input} > {output}"

rule broken:
    output: "broken.txt"
    shell: "echo broken fails on purpose >&2; exit 3"
"""
TINY_OUTPUTS = ["numbers/1.txt", "numbers/2.txt", "squares/1.txt", "squares/2.txt", "total.txt"]
TINY_GROUPING = ["--group-components", "pair=2"]


@dataclass(frozen=True)
class Venvs:
    analysis: Path
    workflow: Path

    @property
    def snakemake(self) -> Path:
        return self.workflow / "bin" / "snakemake"

    def environment(self) -> dict[str, str]:
        """sbatch exports the submitting environment to the job, so `python -m geoxai` in a rule
        finds the analysis venv and this checkout's package on the compute node too."""
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(self.analysis / "bin"), env.get("PATH", "")])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"),
                                                          env.get("PYTHONPATH")]))
        return env


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    seconds: float

    @property
    def run_id(self) -> str:
        found = re.search(r"SLURM run ID: (\S+)", self.output)
        assert found, f"no SLURM run ID in the Snakemake output:\n{self.output[-3000:]}"
        return found.group(1)

    @property
    def submitted(self) -> dict[str, Path]:
        """SLURM job id -> its log file, as Snakemake reported each submission."""
        return {job_id: Path(log) for job_id, log in re.findall(
            r"has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.?$", self.output, re.MULTILINE)}


def interrupt_after(seconds: int) -> list[str]:
    """`timeout` that ends a hanging Snakemake like Ctrl-C: one SIGINT to Snakemake alone, so it
    cancels its SLURM jobs (without --foreground, timeout signals its whole process group as well,
    and a second SIGINT interrupts Snakemake while it runs scancel), SIGKILL 60 s later."""
    return ["timeout", "--foreground", "-s", "INT", "-k", "60", str(seconds)]


def run_snakemake(venvs: Venvs, arguments: list[str], workdir: Path,
                  timeout_s: int = RUN_TIMEOUT_S) -> Run:
    command = [*interrupt_after(timeout_s), str(venvs.snakemake), *arguments]
    started = time.monotonic()
    done = subprocess.run(command, check=False, cwd=workdir, env=venvs.environment(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    run = Run(done.returncode, done.stdout, time.monotonic() - started)
    assert run.returncode not in (124, 137), f"Snakemake hung for {timeout_s} s:\n{run.output[-4000:]}"
    return run


def choose_venv(variable: str, default: Path) -> Path:
    if variable in os.environ:
        chosen = Path(os.environ[variable])
        if not (chosen / "bin" / "python").exists():
            pytest.fail(f"{variable}={chosen} is not a virtual environment (no bin/python)")
        return chosen
    if (default / "bin" / "python").exists():
        return default
    pytest.fail(f"no virtual environment at {default}: run `make setup` or set {variable}")


@pytest.fixture(scope="module")
def venvs() -> Venvs:
    found = Venvs(
        analysis=choose_venv("GEOXAI_ANALYSIS_VENV", REPO / ".venv" / "analysis"),
        workflow=choose_venv("GEOXAI_WORKFLOW_VENV", REPO / ".venv" / "workflow"),
    )
    if not found.snakemake.exists():
        pytest.fail(f"no snakemake in {found.workflow}: install envs/workflow.txt there")
    return found


def cluster_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    answer = subprocess.run(["sinfo", "--noheader", "--format", "%T"], check=False,
                            capture_output=True, text=True, timeout=30)
    # sinfo marks a node that does not respond with a trailing '*' (e.g. "idle*").
    return answer.returncode == 0 and any(
        state in ("idle", "mixed", "allocated") for state in answer.stdout.split())


@pytest.fixture(scope="module")
def slurm_cluster():
    """A SLURM cluster this machine can submit to; started (and stopped afterwards) if needed."""
    if os.environ.get("GEOXAI_SKIP_SLURM") == "1":
        pytest.skip("GEOXAI_SKIP_SLURM=1: this machine cannot run a SLURM cluster")
    if cluster_answers():
        yield
        return
    hint = ("start it with `sudo tests/cluster/start_slurm.sh` (see tests/cluster/README.md), "
            "or set GEOXAI_SKIP_SLURM=1 on a machine that cannot run SLURM")
    try:
        started = subprocess.run(["bash", str(CLUSTER_SCRIPTS / "start_slurm.sh")], check=False,
                                 capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail(f"tests/cluster/start_slurm.sh took over 600 s; {hint}", pytrace=False)
    if started.returncode != 0 or not cluster_answers():
        pytest.fail(f"no SLURM cluster: tests/cluster/start_slurm.sh said\n{started.stdout}"
                    f"{started.stderr}\n{hint}", pytrace=False)
    yield
    subprocess.run(["bash", str(CLUSTER_SCRIPTS / "stop_slurm.sh")], timeout=120, check=False)


def slurm_query(*arguments: str) -> str:
    """Output of a SLURM client command; a failing query fails the test rather than reading empty."""
    return subprocess.run(arguments, check=True, capture_output=True, text=True,
                          timeout=60).stdout


def jobcomp_states() -> dict[str, str]:
    """Final job states from SLURM's job completion log, which outlives MinJobAge."""
    config = slurm_query("scontrol", "show", "config")
    kind = re.search(r"^JobCompType\s*=\s*(\S+)", config, re.MULTILINE)
    where = re.search(r"^JobCompLoc\s*=\s*(\S+)", config, re.MULTILINE)
    if not (kind and where and kind.group(1) == "jobcomp/filetxt"):
        return {}
    log = Path(where.group(1))
    if not log.exists():
        return {}
    return dict(re.findall(r"JobId=(\d+) .*?JobState=(\w+)", log.read_text()))


def slurm_states(job_ids) -> dict[str, str]:
    """SLURM's own record of each job: the controller's queue, else the job completion log."""
    wanted = ",".join(sorted(job_ids))
    queue = slurm_query("squeue", "--noheader", "--states=all", "--jobs", wanted,
                        "--format", "%i|%T")
    states = dict(line.split("|") for line in queue.split())
    missing = set(job_ids) - set(states)
    if missing:
        completed = jobcomp_states()
        states.update({job_id: completed[job_id] for job_id in missing if job_id in completed})
    return states


def jobs_of_run(run_id: str) -> dict[str, str]:
    """Every job SLURM holds under the run's name (the plugin names all jobs of a run alike)."""
    queue = slurm_query("squeue", "--noheader", "--states=all", "--name", run_id,
                        "--format", "%i|%T")
    return dict(line.split("|") for line in queue.split())


def declared_local_rules(snakefiles: list[Path]) -> set[str]:
    """Rules a workflow runs on the submit host on purpose: `localrules:` and `localrule: True`,
    plus `all`, which has no action and so never becomes a job of its own."""
    names = {"all"}
    for snakefile in snakefiles:
        text = snakefile.read_text()
        for block in re.findall(r"^[ \t]*localrules:(.*?)(?:\n[ \t]*\n|\Z)", text,
                                re.MULTILINE | re.DOTALL):
            names.update(re.findall(r"\w+", block))
        for name, body in re.findall(r"^[ \t]*(?:rule|checkpoint) (\w+):\n((?:[ \t]+.*\n|\n)*)",
                                     text, re.MULTILINE):
            if re.search(r"^[ \t]+localrule:\s*True", body, re.MULTILINE):
                names.add(name)
    return names


def check_every_job_went_through_sbatch(run: Run, local_rules_allowed: set[str]) -> None:
    """Every job Snakemake finished ran on the submit host as a declared local rule or inside a
    SLURM job (alone or in a group job), and SLURM saw exactly one job per submission."""
    steps = re.findall(r"^(\d+) of (\d+) steps \(100%\) done$", run.output, re.MULTILINE)
    assert steps, f"the run did not finish every step:\n{run.output[-3000:]}"
    finished = len(re.findall(r"^Finished jobid: \d+ \(Rule: \w+\)$", run.output, re.MULTILINE))
    assert finished == int(steps[-1][1])  # checkpoints grow the DAG: count what finished
    local = re.findall(r"^local(?:rule|checkpoint) (\w+):$", run.output, re.MULTILINE)
    alone = re.findall(r"^(?:rule|checkpoint) (\w+):$", run.output, re.MULTILINE)
    in_groups = re.findall(r"^    (?:rule|checkpoint) (\w+):$", run.output, re.MULTILINE)
    groups = re.findall(r"\] Group job (\S+) ", run.output)
    assert len(local) + len(alone) + len(in_groups) == finished, run.output[-4000:]
    assert set(local) <= local_rules_allowed, f"ran outside SLURM: {set(local) - local_rules_allowed}"
    submitted = run.submitted
    assert len(submitted) == len(alone) + len(groups), run.output[-4000:]
    assert set(jobs_of_run(run.run_id)) == set(submitted), "SLURM holds other jobs for this run"
    states = slurm_states(submitted)
    assert states == {job_id: "COMPLETED" for job_id in submitted}, states
    assert all(log.exists() for log in submitted.values()), "SLURM job logs were not kept"


def check_netcdf_equal(expected_dir: Path, actual_dir: Path) -> int:
    import xarray as xr

    from geoxai.core.provenance import open_product

    expected = sorted(p.relative_to(expected_dir) for p in expected_dir.rglob("*.nc"))
    actual = sorted(p.relative_to(actual_dir) for p in actual_dir.rglob("*.nc"))
    assert expected, f"the local run wrote no NetCDF under {expected_dir}"
    assert actual == expected
    # Provenance that differs between two identical runs: timestamps, the commit (others may
    # commit while the test runs) and checksums of input files, whose bytes embed their own history.
    changing = re.compile(r"history|date|time|created|git_commit|sha256", re.IGNORECASE)
    for relative in expected:
        with open_product(expected_dir / relative) as local, \
                open_product(actual_dir / relative) as remote:
            xr.testing.assert_equal(local, remote)  # values, dims and coordinates, not attrs
            for name in [None, *local.variables]:
                local_attrs = local.attrs if name is None else local[name].attrs
                remote_attrs = remote.attrs if name is None else remote[name].attrs
                assert ({k: str(v) for k, v in local_attrs.items() if not changing.search(k)}
                        == {k: str(v) for k, v in remote_attrs.items()
                            if not changing.search(k)}), f"{relative} {name or 'global'} attrs"
    return len(expected)


def demo_arguments(profile: Path, workdir: Path, venvs: Venvs) -> list[str]:
    targets = os.environ.get("GEOXAI_SLURM_TARGET", "").split()
    # config.yaml named too: Snakemake resolves the Snakefile's `configfile:` in the working
    # directory, which here is a temporary folder.
    return [*targets, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(REPO / "config" / "config.yaml"),
            str(REPO / "config" / "demo.yaml"),
            str(cluster_size_file(workdir)),
            "--config", f"analysis_python={venvs.analysis / 'bin' / 'python'}",
            f"applications=[{os.environ.get('GEOXAI_SLURM_APPLICATIONS', 'enso')}]",
            "--profile", str(profile)]


#: The demo runs twice here, so its size is cut where that tests nothing more of the cluster:
#: one explanation method (every step still runs), one null network, no attribution benchmark
#: (one more TensorFlow job, already run by tests/test_workflow.py).
CLUSTER_SIZE = {
    "explain": {"rules": ["alpha_1_beta_0"]},
    "figures": {"methods": ["alpha_1_beta_0"]},
    "significance": {"networks": 1, "methods": ["alpha_1_beta_0"]},
    "attribution_benchmark": {"applications": []},
}


def cluster_size_file(workdir: Path) -> Path:
    path = workdir.parent / f"{workdir.name}_size.yaml"
    path.write_text(yaml.safe_dump(CLUSTER_SIZE))
    return path


def tiny_workflow(folder: Path, hold: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Snakefile").write_text(TINY_SNAKEFILE)
    if hold:
        (folder / "hold").touch()
    return folder


def tiny_arguments(folder: Path, profile: Path, *targets: str) -> list[str]:
    # Targets first: options such as --group-components take any number of values.
    return [*targets, "--snakefile", str(folder / "Snakefile"), "--directory", str(folder),
            "--profile", str(profile), *TINY_GROUPING]


def cancel_leftovers(folder: Path, output: str) -> None:
    """At teardown: a failed check must leave no held job behind to block the node."""
    (folder / "hold").unlink(missing_ok=True)
    for run_id in re.findall(r"SLURM run ID: (\S+)", output):
        subprocess.run(["scancel", "--name", run_id], check=False, timeout=60)


def test_demo_workflow_through_sbatch_equals_local_run(slurm_cluster, venvs, tmp_path):
    missing = [p for p in (REPO / "Snakefile", REPO / "config" / "demo.yaml") if not p.exists()]
    assert not missing, f"the demo workflow is incomplete: {missing}"
    local_dir, cluster_dir = tmp_path / "local", tmp_path / "slurm"
    local_dir.mkdir()
    cluster_dir.mkdir()

    local = run_snakemake(venvs, demo_arguments(LOCAL_PROFILE, local_dir, venvs), tmp_path)
    assert local.returncode == 0, local.output[-6000:]
    cluster = run_snakemake(venvs, demo_arguments(SLURM_PROFILE, cluster_dir, venvs), tmp_path)
    assert cluster.returncode == 0, cluster.output[-6000:]

    workflow_files = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
    check_every_job_went_through_sbatch(cluster, declared_local_rules(workflow_files))
    compared = check_netcdf_equal(local_dir / "results", cluster_dir / "results")
    for table in sorted((local_dir / "results").rglob("*.csv")):
        twin = cluster_dir / "results" / table.relative_to(local_dir / "results")
        assert twin.read_bytes() == table.read_bytes(), f"{twin} differs from the local run"
    print(f"demo: local {local.seconds:.0f} s, SLURM {cluster.seconds:.0f} s "
          f"({len(cluster.submitted)} SLURM jobs), {compared} NetCDF files equal")


def test_failing_job_names_rule_and_slurm_log(slurm_cluster, venvs, tmp_path):
    folder = tiny_workflow(tmp_path / "tiny")
    run = run_snakemake(venvs, tiny_arguments(folder, SLURM_PROFILE, "broken.txt"), folder,
                        timeout_s=300)

    assert run.returncode != 0
    assert "Error in rule broken" in run.output, run.output[-3000:]
    logs = re.findall(r"log: (\S*slurm_logs/rule_broken/\S*?(\d+)\.log)", run.output)
    assert logs, f"no SLURM log path in the output:\n{run.output[-3000:]}"
    log, job_id = Path(logs[0][0]), logs[0][1]
    assert "broken fails on purpose" in log.read_text()
    assert slurm_states([job_id]) == {job_id: "FAILED"}
    print(f"failing job reported after {run.seconds:.0f} s")


def test_interrupt_cancels_jobs_and_rerun_completes(slurm_cluster, venvs, tmp_path, request):
    local = tiny_workflow(tmp_path / "local")
    done = run_snakemake(venvs, tiny_arguments(local, LOCAL_PROFILE), local, timeout_s=300)
    assert done.returncode == 0, done.output[-3000:]
    folder = tiny_workflow(tmp_path / "cluster", hold=True)
    log = folder / "first_run.log"
    request.addfinalizer(lambda: cancel_leftovers(folder, log.read_text()))

    started = time.monotonic()
    with log.open("w") as sink:
        first = subprocess.Popen(
            [*interrupt_after(300), str(venvs.snakemake), *tiny_arguments(folder, SLURM_PROFILE)],
            cwd=folder, env=venvs.environment(), stdout=sink, stderr=subprocess.STDOUT)
        try:
            # `total` writes its PID once it runs on the node, after the grouped pair finished.
            while not (folder / "total.pid").exists():
                assert first.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() - started < 240, "the held job never started"
                time.sleep(0.5)
            held_pid = int((folder / "total.pid").read_text())
            first.send_signal(signal.SIGINT)  # `timeout` passes it on to Snakemake
            interrupted_rc = first.wait(timeout=120)
        finally:
            if first.poll() is None:
                first.kill()
    interrupted = Run(interrupted_rc, log.read_text(), time.monotonic() - started)

    assert interrupted.returncode != 0
    # --group-components: the four jobs of the grouped pair went as one SLURM job, then `total`.
    assert len(interrupted.submitted) == 2, interrupted.output[-3000:]
    held_job = list(interrupted.submitted)[-1]
    deadline = time.monotonic() + 30  # cancelled jobs stay in the queue while COMPLETING
    while (queued := slurm_query("squeue", "--noheader", "--name", interrupted.run_id,
                                 "--format", "%i|%T")).split() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert queued.split() == [], f"jobs left in the queue after SIGINT: {queued}"
    assert slurm_states([held_job])[held_job] == "CANCELLED"
    deadline = time.monotonic() + 30  # KillWait: SIGTERM, then SIGKILL after 5 s
    while Path(f"/proc/{held_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not Path(f"/proc/{held_pid}").exists(), "the cancelled job's shell still runs"
    assert not (folder / "total.txt").exists()

    (folder / "hold").unlink()
    rerun = run_snakemake(venvs, tiny_arguments(folder, SLURM_PROFILE), folder, timeout_s=300)
    assert rerun.returncode == 0, rerun.output[-3000:]
    assert len(rerun.submitted) == 1, "the rerun should only redo the interrupted job"
    check_every_job_went_through_sbatch(rerun, declared_local_rules([folder / "Snakefile"]))
    for name in TINY_OUTPUTS:
        assert (folder / name).read_text() == (local / name).read_text(), name
    print(f"SIGINT: run exited {interrupted.seconds:.0f} s after start; "
          f"rerun {rerun.seconds:.0f} s")
