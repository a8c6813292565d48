"""The command line the rules call: each rule runs the step function of its name, and every option
is a parameter of that function named like the rule's input, output, param or wildcard it gets."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
from conftest import config_files, run_snakemake

from geoxai import cli

RULES = Path(__file__).resolve().parents[1] / "workflow" / "rules"
#: ``python -m geoxai <step> ...`` inside a rule's shell string literals.
STEP_CALL = re.compile(r"python -m geoxai (\S+)(.*?)(?:>|$)")
#: ``--option {namespace.key:q}``, ``--option={namespace.key}``, ``--option {output:q}``.
OPTION = re.compile(r"(--[\w-]+)[ =]\{(input|output|params|wildcards)(?:\.(\w+))?(?::q)?\}")


def rule_commands() -> dict[str, str]:
    """Each rule's (or checkpoint's) ``python -m geoxai`` command, its string literals joined."""
    commands = {}
    for path in sorted(RULES.glob("*.smk")):
        for block in re.split(r"\n\s*(?=(?:rule|checkpoint) \w+:)", path.read_text()):
            header = re.match(r"\s*(?:rule|checkpoint) (\w+):", block)
            if not header or "shell:" not in block:
                continue
            shell = block.split("shell:", 1)[1]
            command = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', shell))
            commands[header.group(1)] = command
    return commands


COMMANDS = rule_commands()


def command_parser(name: str):
    return cli.parser()._subparsers._group_actions[0].choices[name]


def test_every_rule_runs_the_step_of_its_own_name():
    called = {rule: STEP_CALL.search(command).group(1) for rule, command in COMMANDS.items()
              if STEP_CALL.search(command)}
    assert len(called) >= 25
    assert {rule: step for rule, step in called.items() if rule != step} == {}
    assert set(called) == set(cli.STEPS), "a step without a rule, or a rule without a step"


@pytest.mark.parametrize("rule", sorted(cli.STEPS))
def test_options_are_named_like_what_the_rule_passes(rule):
    command = COMMANDS[rule]
    passed = OPTION.findall(command)
    assert passed, f"{rule} passes no option from its input/output/params/wildcards"
    for flag, namespace, key in passed:
        expected = key or namespace  # the whole ``{output}`` goes to --output
        assert flag == cli.option_flag(expected), f"{rule}: {flag} receives {{{namespace}.{key}}}"
    flags = {flag for flag, _, _ in passed}
    parameters = inspect.signature(cli.step_function(rule)).parameters.values()
    options = command_parser(rule)._option_string_actions
    assert flags <= set(options), f"{rule} passes options its step does not take"
    required = {cli.option_flag(p.name) for p in parameters if p.default is inspect.Parameter.empty}
    assert required <= flags, f"{rule} does not pass every option its step needs"


@pytest.mark.parametrize("rule", sorted(cli.STEPS))
def test_steps_take_no_option_no_rule_passes(rule):
    """A parameter no rule fills would be an option that is always left at its default."""
    flags = {flag for flag, _, _ in OPTION.findall(COMMANDS[rule])}
    parameters = inspect.signature(cli.step_function(rule)).parameters
    assert {cli.option_flag(name) for name in parameters} == flags


def test_options_read_lists_json_and_pairs_from_their_annotations():
    arguments = cli.parser().parse_args([
        "train", "--anomalies", "a.nc", "--labels", "l.csv", "--seed", "3", "--model", "m.h5",
        "--metrics", "m.json", "--model-config", '{"hidden_units": [4]}', "--training-config", "{}",
        "--class-names", "La Nina", "El Nino",
    ])
    assert arguments.seed == 3 and arguments.model_config == {"hidden_units": [4]}
    assert arguments.class_names == ["La Nina", "El Nino"]
    fetch = cli.parser().parse_args([
        "fetch_lst_field", "--store", "s", "--variable", "SST", "--fetched", "f.nc",
        "--years", "400", "599",
    ])
    assert fetch.years == [400, 599] and fetch.month_stamp == "auto" and fetch.config is None
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["train", "--anomalies", "a.nc"])  # required options missing


def test_a_dict_option_reads_a_json_file_and_names_it_when_it_cannot(tmp_path, capsys):
    """The rules pass the config a step records as a file (the printed commands stay short)."""
    record = tmp_path / "0123abcd.json"
    record.write_text('{"enso.sst": {"variable": "sst"}}')
    arguments = cli.parser("enso_anomalies").parse_args([
        "enso_anomalies", "--sst", "s.nc", "--anomalies", "a.nc", "--sst-spec", "{}",
        "--settings", "{}", "--config", str(record),
    ])
    assert arguments.config == {"enso.sst": {"variable": "sst"}}
    for broken, message in ((tmp_path / "missing.json", "cannot read the JSON file"),
                            (tmp_path / "broken.json", "is not valid JSON")):
        if broken.name == "broken.json":
            broken.write_text('{"enso.sst": ')
        with pytest.raises(SystemExit):
            cli.parser().parse_args(["enso_anomalies", "--sst", "s.nc", "--anomalies", "a.nc",
                                     "--sst-spec", "{}", "--settings", "{}", "--config", str(broken)])
        error = capsys.readouterr().err
        assert message in error and str(broken) in error


def test_printed_commands_pass_the_recorded_config_as_a_file(tmp_path):
    """printshellcmds shows every job's command: the config a step records goes as a file
    (common.smk config_record), and the file holds exactly the sections of the rule."""
    result = run_snakemake(tmp_path, "-n", "-p", "--configfile", *config_files("demo.yaml"))
    commands = [line for line in result.stdout.splitlines() if "python -m geoxai" in line]
    assert len(commands) > 100
    records = [re.search(r"--config (\S+)", line).group(1) for line in commands
               if "--config " in line]
    assert len(records) > 50 and all(r.startswith("results/config/") for r in records)
    assert not any("--config '{" in line or '"seeds"' in line for line in commands)
    anomalies = next(line for line in commands if "geoxai enso_anomalies" in line)
    record = json.loads((tmp_path / re.search(r"--config (\S+)", anomalies).group(1)).read_text())
    assert set(record) == {"enso.sst", "enso.anomalies", "netcdf"}
