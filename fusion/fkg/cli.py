"""`fusion fkg …`: list, show, validate and score with the Fitness Knowledge Graph."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from fusion.fkg.graph import Action, ErrorType, FitnessKnowledgeGraph
from fusion.fkg.loader import DEFAULT_FKG_PATH, FKGError, display_path, load_fkg
from fusion.fkg.scoring import ScoreBreakdown, breakdown


def register(subparsers: Any) -> None:
    """Add the `fkg` command and its sub-commands to a parent parser's subparsers."""
    parser = subparsers.add_parser(
        "fkg",
        help="inspect, validate and score with the Fitness Knowledge Graph",
        description="Inspect, validate and score with the Fitness Knowledge Graph (FKG).",
    )
    commands = parser.add_subparsers(dest="fkg_command", metavar="COMMAND", required=True)
    _add_list(commands)
    _add_show(commands)
    _add_validate(commands)
    _add_score(commands)


def _add_fkg_option(parser: argparse.ArgumentParser) -> None:
    """The shared --fkg PATH option."""
    parser.add_argument(
        "--fkg", metavar="PATH", default=None, help=f"FKG YAML file (default: {DEFAULT_FKG_PATH})"
    )


def _add_list(commands: Any) -> None:
    """`fkg list`: one line per action."""
    parser = commands.add_parser(
        "list", help="list the actions", description="List the actions with their error counts."
    )
    _add_fkg_option(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=_run_list)


def _add_show(commands: Any) -> None:
    """`fkg show ACTION`: the action's tree."""
    parser = commands.add_parser(
        "show",
        help="show one action's phases, key steps, errors and feedback",
        description="Show one action as a tree: phases → key steps → errors → feedback.",
    )
    parser.add_argument("action", help="action id, e.g. A01")
    _add_fkg_option(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a tree")
    parser.set_defaults(func=_run_show)


def _add_validate(commands: Any) -> None:
    """`fkg validate [PATH]`: load and check a file."""
    parser = commands.add_parser(
        "validate",
        help="check an FKG file (exit 2 on problems)",
        description="Load an FKG file and check every field and reference; exit 2 on problems.",
    )
    parser.add_argument(
        "path", nargs="?", default=None, help=f"FKG YAML file (default: {DEFAULT_FKG_PATH})"
    )
    parser.set_defaults(func=_run_validate)


def _add_score(commands: Any) -> None:
    """`fkg score ACTION ERR…`: score a repetition from its observed errors."""
    parser = commands.add_parser(
        "score",
        help="score a repetition from its observed errors",
        description="Score a repetition: S = (1 − ΣW_observed / ΣW_max) × 100.",
    )
    parser.add_argument("action", help="action id, e.g. A01")
    parser.add_argument(
        "errors", nargs="+", metavar="ERR", help="observed errors, by id (A01-ET1) or name"
    )
    _add_fkg_option(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=_run_score)


def _fail(message: str) -> int:
    """Report an error on stderr; exit code 2."""
    print(message, file=sys.stderr)
    return 2


def _load_action(args: argparse.Namespace) -> tuple[FitnessKnowledgeGraph, Action]:
    """Load the graph named by --fkg and look up args.action (raises FKGError/KeyError)."""
    graph = load_fkg(args.fkg)
    return graph, graph.action(args.action)


def _run_list(args: argparse.Namespace) -> int:
    """Print the actions."""
    try:
        graph = load_fkg(args.fkg)
    except FKGError as exc:
        return _fail(str(exc))
    rows = [graph.action(a) for a in graph.action_ids]
    if args.json:
        payload = [
            {
                "id": a.id,
                "name": a.name,
                "equipment": a.equipment,
                "family": a.family,
                "errors": len(a.errors),
                "max_weight": a.max_weight,
            }
            for a in rows
        ]
        print(json.dumps(payload, indent=2))
        return 0
    for a in rows:
        print(f"{a.id}  {a.name:<38} {a.equipment:<9} {a.family:<10} {len(a.errors)} errors")
    return 0


def _run_show(args: argparse.Namespace) -> int:
    """Print one action as a tree or JSON."""
    try:
        _, action = _load_action(args)
    except FKGError as exc:
        return _fail(str(exc))
    except KeyError as exc:
        return _fail(f"error: {exc.args[0]}")
    if args.json:
        print(json.dumps({"id": action.id, **action.to_dict()}, indent=2, ensure_ascii=False))
    else:
        print("\n".join(format_action(action)))
    return 0


def format_action(action: Action) -> list[str]:
    """Tree lines: phases → key steps → errors (severity, weight, modalities) → feedback."""
    lines = [
        f"{action.id} {action.name} ({action.equipment}, {action.family})",
        f"  primary muscles: {', '.join(action.primary_muscles)}",
        f"  max weight: {action.max_weight:g}",
    ]
    for phase in action.phases:
        lines.append(f"  {phase}")
        for step in action.steps_in(phase):
            lines.append(f"    {step.id}  {step.text}")
            for err in action.errors:
                if err.key_step == step.id:
                    lines += _format_error(err)
    return lines


def _format_error(err: ErrorType) -> list[str]:
    """Two tree lines for one error: the error itself and its feedback."""
    return [
        f"      ! {err.id} {err.name} [{err.severity} {err.weight:g}]"
        f" ({', '.join(err.modalities)}): {err.description}",
        f"        → {err.feedback.id}  {err.feedback.text}",
    ]


def _run_validate(args: argparse.Namespace) -> int:
    """Load and check a file; print a one-line summary."""
    path = args.path if args.path is not None else DEFAULT_FKG_PATH
    try:
        graph = load_fkg(path)
    except FKGError as exc:
        return _fail(str(exc))
    counts = f"{len(graph.actions)} actions, {graph.n_errors} errors"
    print(f"ok: {display_path(path)} — {counts}, sha256 {graph.sha256}")
    return 0


def _run_score(args: argparse.Namespace) -> int:
    """Print the breakdown table and the score of one repetition."""
    try:
        _, action = _load_action(args)
        result = breakdown(action, args.errors)
    except FKGError as exc:
        return _fail(str(exc))
    except (KeyError, ValueError) as exc:
        return _fail(f"error: {exc.args[0]}")
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(format_breakdown(result)))
    return 0


def format_breakdown(result: ScoreBreakdown) -> list[str]:
    """Table of observed errors (costliest first) followed by the score line."""
    lines = [
        f"{result.action_id} {result.action_name}",
        f"{'error':<9} {'name':<22} {'phase':<12} {'severity':<21} {'weight':>6} {'points':>7}",
    ]
    for item in result.items:
        lines.append(
            f"{item.error_id:<9} {item.name:<22} {item.phase:<12} {item.severity:<21}"
            f" {item.weight:>6g} {-item.points_lost:>7.2f}   {item.feedback}"
        )
    lines.append(f"score: {result.score:.2f} / 100 (ΣW_max {result.max_weight:g})")
    return lines
