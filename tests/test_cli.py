"""The command line the rules call: each step's interface is written once, in geoxai.cli.STEPS."""

from __future__ import annotations

import inspect

import pytest

from geoxai import cli


def option_names(command) -> set[str]:
    return {action.dest for action in command._actions if action.dest != "help"}


@pytest.mark.parametrize("name", list(cli.STEPS))
def test_options_are_the_step_functions_parameters(name):
    command = cli.parser()._subparsers._group_actions[0].choices[name]
    parameters = inspect.signature(cli.step_function(name)).parameters
    assert option_names(command) == set(parameters)
    for parameter in parameters.values():
        if parameter.default is inspect.Parameter.empty:
            action = next(a for a in command._actions if a.dest == parameter.name)
            assert action.required or action.default is not None or not action.option_strings, (
                f"{name}: {parameter.name} has no default, so its option must give one"
            )


@pytest.mark.parametrize(("name", "flag"), [("plot", "--class-names"), ("labels", "--config"),
                                            ("train", "--config"), ("lst-labels", "--config")])
def test_steps_take_no_option_they_would_ignore(name, flag):
    command = cli.parser()._subparsers._group_actions[0].choices[name]
    assert flag not in command._option_string_actions
