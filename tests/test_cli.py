"""The `fusion` entry point: every command and subcommand answers --help."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from fusion.cli import build_parser, main


def _command_paths(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += _command_paths(sub, prefix + (name,))
    return paths


COMMANDS = _command_paths(build_parser())


def test_the_expected_commands_exist():
    assert {("synth",), ("fkg",), ("fkg", "show"), ("fkg", "validate"), ("fkg", "score")} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "fusion")
def test_help_on_every_command(path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    assert "usage: fusion" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "commands" in capsys.readouterr().out


def test_console_script_runs():
    done = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("fusion ")
