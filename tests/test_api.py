"""The public API: documented with examples, listed by help(deform3d), and in step with the CLI.

The drift tests read the real parser (``build_parser()``) and the real signatures: every option of
every command must be a parameter of the API function it calls, with the same default, and every
API option must have a flag. The only names allowed to differ are listed below, each with why.
"""

from __future__ import annotations

import argparse
import inspect
import pydoc
import subprocess
import sys

import pytest

import deform3d
from deform3d import api
from deform3d.cli import RENAMED, build_parser

PUBLIC = list(deform3d.__all__)

# CLI dest -> API parameter, where the names differ (RenderConfig.points is --show-points, since
# `record` also takes TrainConfig.points, points per class).
CLI_TO_API = {cli: field for (_config, field), cli in RENAMED.items()}

# Flags with no API parameter of that name, and why (per command; "*" for every command).
CLI_ONLY = {
    ("*", "quiet"): "the API's progress= (True by default; --quiet is progress=False)",
    ("train", "out"): "api.train returns the Trajectory; the CLI saves it with run.save(out)",
    ("render", "out"): "api.render returns the (H, W, 3) array; the CLI writes it as PNG",
    ("record", "save_run"): "in Python: run = deform3d.train(...); run.save(path); deform3d.record(run, ...)",
}
# API parameters with no flag, and why.
API_ONLY = {
    ("*", "progress"): "the CLI's --quiet",
    ("demo", "echo"): "the CLI passes print",
    ("compare", "echo"): "the CLI passes print (a line per run trained)",
    ("compare", "points"): "api.compare's points= is the picture's (--show-points); to compare other per-class "
                           "sizes, train each with `deform3d train --points N` and compare the files",
    ("sweep", "echo"): "the CLI passes print",
    ("sweep", "client"): "a dask.distributed.Client object; the CLI's --scheduler ADDRESS connects one",
}


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


COMMANDS = _subcommands()


def _options_of(parser: argparse.ArgumentParser):
    """(dest, action, API function it feeds) for every argument but --help."""
    for group in parser._action_groups:
        # A command that trains first (record, show) takes train's options in a "training ..." group.
        for action in group._group_actions:
            if isinstance(action, argparse._HelpAction):
                continue
            yield action, group.title or ""


def _target(command: str, group_title: str):
    return api.train if command != "train" and group_title.startswith("training") else getattr(api, command)


def _keyword_params(fn) -> dict[str, inspect.Parameter]:
    return {n: p for n, p in inspect.signature(fn).parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


# ---------------------------------------------------------------- documentation


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_function_has_a_docstring_with_an_example(name):
    fn = getattr(deform3d, name)
    assert callable(fn) and fn.__module__ == "deform3d.api", f"deform3d.{name} is not the API function"
    doc = inspect.getdoc(fn) or ""
    assert len(doc.splitlines()[0]) > 20, f"deform3d.{name} needs a one-line summary"
    assert ">>> " in doc and name in doc.split(">>>", 1)[1], f"deform3d.{name}'s docstring needs an example calling it"


def test_notebook_entry_points_have_examples():
    from deform3d import notebook
    from deform3d.core.trajectory import Trajectory

    for fn in (notebook.Viewer, notebook.video, notebook.still, Trajectory.video):
        assert ">>> " in (inspect.getdoc(fn) or ""), f"{fn.__qualname__} needs an example"


def test_help_lists_the_api():
    text = pydoc.render_doc(deform3d, renderer=pydoc.plaintext)
    functions = text.split("\nFUNCTIONS\n", 1)[1]
    for name in PUBLIC:
        assert f"\n    {name}(" in functions, f"help(deform3d) does not list {name}"
        assert f"deform3d.{name}(" in text.split("\nPACKAGE CONTENTS\n")[0], f"the module docstring does not show {name}"
    assert "deform3d.notebook.Viewer(run)" in text


def test_no_submodule_is_named_like_an_api_function():
    # Importing deform3d.X sets attribute X on the package: a submodule named like an API function
    # (the trainer was once deform3d/train.py) would replace the function after its first call.
    import pkgutil

    assert not {m.name for m in pkgutil.iter_modules(deform3d.__path__)} & set(deform3d.__all__)
    code = ("import deform3d; deform3d.train(epochs=1, points=20); "
            "print(type(deform3d.train(epochs=1, points=20)).__name__, deform3d.record.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Trajectory", "deform3d.api"]


def test_importing_deform3d_loads_neither_torch_nor_vispy():
    code = "import sys, deform3d; dir(deform3d); print([m for m in ('torch', 'vispy', 'IPython') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- the CLI and the API cannot drift


def test_every_command_calls_an_api_function_of_its_name():
    assert set(COMMANDS) <= set(PUBLIC), f"commands without an API function: {set(COMMANDS) - set(PUBLIC)}"


def _drift(command: str, parser: argparse.ArgumentParser) -> list[str]:
    """Every way ``parser``'s options differ from the API function ``command`` calls."""
    problems = []
    for action, title in _options_of(parser):
        dest = action.dest
        if (command, dest) in CLI_ONLY or ("*", dest) in CLI_ONLY:
            continue
        fn = _target(command, title)
        params = _keyword_params(fn)
        name = CLI_TO_API.get(dest, dest)
        flag = action.option_strings[0] if action.option_strings else dest.upper()
        if name not in params:
            problems.append(f"{flag}: api.{fn.__name__} has no parameter {name!r}")
            continue
        if not action.option_strings:
            continue  # a positional (RUN.npz): its name is checked; "optional" means "train first" there
        default = params[name].default
        if default is inspect.Parameter.empty:
            if not action.required:
                problems.append(f"{flag}: required in api.{fn.__name__} but optional here (default {action.default!r})")
        elif action.required or action.default != default:
            problems.append(f"{flag}: default {action.default!r} here, {default!r} in api.{fn.__name__}({name}=...)")
    return problems


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_cli_option_is_an_api_parameter_with_the_same_default(command):
    problems = _drift(command, COMMANDS[command])
    assert not problems, f"`deform3d {command}` drifted from the API:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_api_option_has_a_cli_flag(command):
    fed = {}
    for action, title in _options_of(COMMANDS[command]):
        fed.setdefault(_target(command, title), set()).add(CLI_TO_API.get(action.dest, action.dest))
    problems = []
    for fn, names in fed.items():
        for name in _keyword_params(fn):
            if name not in names and (command, name) not in API_ONLY and ("*", name) not in API_ONLY:
                problems.append(f"api.{fn.__name__}({name}=...) has no flag on `deform3d {command}`")
    assert not problems, "\n".join(problems)


def test_the_drift_check_sees_a_drifted_default():
    # The check above must be able to fail: the real `train` parser with one default changed is
    # caught, naming the flag (an unchanged parser passes, which the test above shows).
    train = _subcommands()["train"]  # a fresh parser: COMMANDS' stays as built
    (action,) = [a for a in train._actions if a.dest == "epochs"]
    action.default += 1
    assert _drift("train", train) == [f"--epochs: default {action.default!r} here, {action.default - 1!r} in api.train(epochs=...)"]
