"""Load a Fitness Knowledge Graph from YAML, checking every field and reference first.

All problems in a file are collected and raised together as one `FKGError`, each on its own
line naming the file and the entry, e.g. `configs/fkg/flex.yaml: actions.A03.errors[2]
(A03-ET3): weight 4 outside joint_safety range [9, 10]`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from fusion.constants import MODALITIES, MUSCLES, PHASES
from fusion.fkg.graph import (
    CATEGORY_MODALITIES,
    DEVIATION_FAMILIES,
    DEVIATION_PARAMS,
    DEVIATION_SEVERITY,
    DEVIATION_SIDES,
    EQUIPMENT,
    FAMILIES,
    SIDED_DEVIATIONS,
    Action,
    Deviation,
    ErrorType,
    Feedback,
    FitnessKnowledgeGraph,
    KeyStep,
    deviation_category,
)
from fusion.yamltext import alias_problem, cut, read_yaml_text

DEFAULT_FKG_PATH = Path(__file__).resolve().parents[2] / "configs/fkg/flex.yaml"

TOP_FIELDS = ("name", "version", "severity_classes", "muscles", "actions")
ACTION_FIELDS = ("name", "equipment", "family", "primary_muscles", "phases", "errors")
PHASE_FIELDS = ("name", "key_steps")
STEP_FIELDS = ("id", "text")
ERROR_FIELDS = (
    "id",
    "name",
    "description",
    "phase",
    "key_step",
    "severity",
    "weight",
    "body_part",
    "modalities",
    "deviation",
    "feedback",
)
FEEDBACK_FIELDS = ("id", "text")
CLASS_FIELDS = ("min", "max")
ACTION_ID = re.compile(r"^A\d{2,}$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


SHOWN_PROBLEMS = 50  # problems an FKGError's message lists; `problems` holds them all


class FKGError(ValueError):
    """An FKG file is unreadable or inconsistent; `problems` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = [cut(p) for p in problems]
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            head = f"{source}: {len(self.problems)} problems in the fitness knowledge graph"
            shown = [f"  {p}" for p in self.problems[:SHOWN_PROBLEMS]]
            if len(self.problems) > SHOWN_PROBLEMS:
                shown.append(f"  ... and {len(self.problems) - SHOWN_PROBLEMS} more")
            message = "\n".join([head, *shown])
        super().__init__(message)


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader that records duplicate mapping keys instead of keeping the last."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    self.duplicate_keys.append((key_node.value, key_node.start_mark.line + 1))
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def display_path(path: str | Path) -> str:
    """Path as a user would type it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _fmt(x: Any) -> str:
    """Numbers without a spurious `.0` (9, 9.5) for messages."""
    return f"{x:g}" if isinstance(x, int | float) else repr(x)


class _Checker:
    """Walks the parsed YAML, records problems as `file: entry: message`, builds the graph."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self.ids: dict[str, str] = {}

    def fail(self, entry: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(f"{self.source}: {entry}: {message}")

    def fields(self, entry: str, value: Any, required: tuple[str, ...]) -> bool:
        """Check that `value` is a mapping with exactly the `required` keys (False: skip it)."""
        if not isinstance(value, Mapping):
            self.fail(entry, f"expected a mapping, got {type(value).__name__}")
            return False
        missing = [k for k in required if k not in value]
        unknown = [str(k) for k in value if k not in required]
        if missing:
            self.fail(entry, f"missing field(s) {', '.join(missing)}")
        if unknown:
            self.fail(entry, f"unknown field(s) {', '.join(unknown)}")
        return not missing

    def text(self, entry: str, value: Any, what: str) -> str:
        """Check a non-empty string field."""
        if not isinstance(value, str) or not value.strip():
            self.fail(entry, f"{what} must be a non-empty string, got {value!r}")
            return ""
        return value

    def choice(self, entry: str, value: Any, allowed: Any, what: str) -> bool:
        """Check that a value is one of an allowed set."""
        if isinstance(value, str) and value in allowed:
            return True
        self.fail(entry, f"unknown {what} {value!r} (expected one of: {', '.join(allowed)})")
        return False

    def claim_id(self, entry: str, value: Any, pattern: str) -> str:
        """Check an id's form and that no other entry in the file uses it."""
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            self.fail(entry, f"id {value!r} does not match {pattern}")
            return str(value)
        if value in self.ids:
            self.fail(entry, f"duplicate id {value} (already used by {self.ids[value]})")
        else:
            self.ids[value] = entry
        return value

    def str_list(self, entry: str, value: Any, what: str) -> list[str]:
        """Check a list of strings without repeats."""
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(entry, f"{what} must be a list of names, got {value!r}")
            return []
        repeated = sorted({v for v in value if value.count(v) > 1})
        if repeated:
            self.fail(entry, f"{what} repeats {', '.join(repeated)}")
        return value

    # -- top level ---------------------------------------------------------------------------

    def graph(self, data: Any) -> FitnessKnowledgeGraph | None:
        """Check the whole document and build the graph (None if anything failed)."""
        if not isinstance(data, Mapping):
            self.fail("<top level>", f"expected a mapping, got {type(data).__name__}")
            return None
        self.fields("<top level>", data, TOP_FIELDS)
        name = self.text("name", data["name"], "name") if "name" in data else ""
        version = data.get("version", "")
        if not isinstance(version, str):
            self.fail("version", f'must be a quoted string such as "1.0", got {version!r}')
        classes = (
            self.severity_classes(data["severity_classes"]) if "severity_classes" in data else {}
        )
        if "muscles" in data:
            self.muscles(data["muscles"])
        actions = self.actions(data["actions"], classes) if "actions" in data else {}
        if self.problems:
            return None
        return FitnessKnowledgeGraph(
            name=name,
            version=str(version),
            severity_classes=classes,
            muscles=tuple(MUSCLES),
            actions=actions,
            source=self.source,
        )

    def severity_classes(self, value: Any) -> dict[str, tuple[float, float]]:
        """Check `severity_classes: {name: {min, max}}`."""
        if not isinstance(value, Mapping) or not value:
            self.fail("severity_classes", "must be a non-empty mapping of name: {min, max}")
            return {}
        classes: dict[str, tuple[float, float]] = {}
        for name, bounds in value.items():
            entry = f"severity_classes.{name}"
            if not self.fields(entry, bounds, CLASS_FIELDS):
                continue
            lo, hi = bounds.get("min"), bounds.get("max")
            if not all(_is_number(x) for x in (lo, hi)):
                self.fail(entry, f"min and max must be numbers, got {lo!r} and {hi!r}")
            elif lo > hi:
                self.fail(entry, f"min {_fmt(lo)} is greater than max {_fmt(hi)}")
            else:
                classes[str(name)] = (float(lo), float(hi))
        return classes

    def muscles(self, value: Any) -> None:
        """Check that `muscles` equals fusion.constants.MUSCLES (order matters: EMG channels)."""
        if value != list(MUSCLES):
            self.fail("muscles", f"must be exactly {list(MUSCLES)} (fusion.constants.MUSCLES)")

    def actions(self, value: Any, classes: Mapping[str, Any]) -> dict[str, Action]:
        """Check every action entry."""
        if not isinstance(value, Mapping) or not value:
            self.fail("actions", "must be a non-empty mapping of action id: action")
            return {}
        actions = {}
        for action_id, body in value.items():
            action = self.action(str(action_id), body, classes)
            if action is not None:
                actions[action.id] = action
        return actions

    # -- actions -----------------------------------------------------------------------------

    def action(self, action_id: str, body: Any, classes: Mapping[str, Any]) -> Action | None:
        """Check one action and build it."""
        entry = f"actions.{action_id}"
        self.claim_id(entry, action_id, ACTION_ID.pattern)
        if not self.fields(entry, body, ACTION_FIELDS):
            return None
        name = self.text(entry, body.get("name"), "name")
        self.choice(entry, body.get("equipment"), EQUIPMENT, "equipment")
        family = body.get("family")
        self.choice(entry, family, FAMILIES, "family")
        muscles = self.str_list(f"{entry}.primary_muscles", body.get("primary_muscles"), "muscles")
        if not muscles:
            self.fail(f"{entry}.primary_muscles", "must name at least one muscle")
        for muscle in muscles:
            self.choice(f"{entry}.primary_muscles", muscle, MUSCLES, "muscle")
        phases, steps = self.phases(action_id, body.get("phases"))
        errors = self.errors(action_id, body.get("errors"), steps, family, classes)
        return Action(
            id=action_id,
            name=name,
            equipment=str(body.get("equipment")),
            family=str(family),
            phases=tuple(phases),
            key_steps=tuple(steps),
            errors=tuple(errors),
            primary_muscles=tuple(muscles),
        )

    def phases(self, action_id: str, value: Any) -> tuple[list[str], list[KeyStep]]:
        """Check the phase list (the three PHASES in this action's temporal order) and steps."""
        entry = f"actions.{action_id}.phases"
        if not isinstance(value, list):
            self.fail(entry, "must be a list of {name, key_steps}")
            return [], []
        names = [p.get("name") if isinstance(p, Mapping) else None for p in value]
        if sorted(map(str, names)) != sorted(PHASES):
            self.fail(entry, f"phases {names} must be exactly {list(PHASES)} in temporal order")
        steps: list[KeyStep] = []
        for i, phase in enumerate(value):
            if self.fields(f"{entry}[{i}]", phase, PHASE_FIELDS):
                steps += self.key_steps(f"{entry}[{i}]", action_id, phase, len(steps))
        return [str(n) for n in names], steps

    def key_steps(self, entry: str, action_id: str, phase: Mapping, before: int) -> list[KeyStep]:
        """Check one phase's key steps: ids `<action>-AK<n>` numbered on across phases."""
        value = phase.get("key_steps")
        if not isinstance(value, list) or not value:
            self.fail(f"{entry}.key_steps", "must be a non-empty list of {id, text}")
            return []
        steps = []
        for j, step in enumerate(value):
            where = f"{entry}.key_steps[{j}]"
            if not self.fields(where, step, STEP_FIELDS):
                continue
            where = f"{where} ({step.get('id')})"
            step_id = self.claim_id(where, step.get("id"), rf"{action_id}-AK\d+")
            if step_id != f"{action_id}-AK{before + j + 1}":
                self.fail(where, f"expected id {action_id}-AK{before + j + 1} (temporal order)")
            text = self.text(where, step.get("text"), "text")
            steps.append(KeyStep(id=step_id, phase=str(phase.get("name")), text=text))
        return steps

    # -- errors ------------------------------------------------------------------------------

    def errors(
        self,
        action_id: str,
        value: Any,
        steps: list[KeyStep],
        family: Any,
        classes: Mapping[str, Any],
    ) -> list[ErrorType]:
        """Check an action's error list (at least one error, unique snake_case names)."""
        entry = f"actions.{action_id}.errors"
        if not isinstance(value, list) or not value:
            self.fail(entry, "an action needs at least one error")
            return []
        errors = []
        for i, body in enumerate(value):
            error = self.error(f"{entry}[{i}]", action_id, body, steps, family, classes)
            if error is not None:
                errors.append(error)
        names = [e.name for e in errors]
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.fail(entry, f"error name {name!r} is used more than once")
        return errors

    def error(
        self,
        entry: str,
        action_id: str,
        body: Any,
        steps: list[KeyStep],
        family: Any,
        classes: Mapping[str, Any],
    ) -> ErrorType | None:
        """Check one error entry and build it."""
        if not self.fields(entry, body, ERROR_FIELDS):
            return None
        entry = f"{entry} ({body.get('id')})"
        error_id = self.claim_id(entry, body.get("id"), rf"{action_id}-ET\d+")
        name = self.text(entry, body.get("name"), "name")
        if name and not SNAKE_CASE.match(name):
            self.fail(entry, f"name {name!r} must be snake_case")
        phase, step = body.get("phase"), body.get("key_step")
        self.reference(entry, phase, step, steps)
        severity = body.get("severity")
        weight = self.weight(entry, severity, body.get("weight"), classes)
        modalities = self.modalities(entry, body.get("modalities"))
        deviation = self.deviation(f"{entry}.deviation", body.get("deviation"), family)
        self.consistency(entry, deviation, severity, modalities)
        feedback = self.feedback(f"{entry}.feedback", body.get("feedback"), error_id)
        return ErrorType(
            id=error_id,
            name=name,
            description=self.text(entry, body.get("description"), "description"),
            action_id=action_id,
            phase=str(phase),
            key_step=str(step),
            severity=str(severity),
            weight=weight,
            body_part=self.text(entry, body.get("body_part"), "body_part"),
            modalities=tuple(modalities),
            deviation=deviation,
            feedback=feedback,
        )

    def reference(self, entry: str, phase: Any, step_id: Any, steps: list[KeyStep]) -> None:
        """Check that the phase and key step exist in this action and belong together."""
        phases = {s.phase for s in steps}
        phase, step_id = _key(phase), _key(step_id)
        if phase not in phases:
            self.fail(entry, f"phase {phase!r} is not a phase of this action")
        by_id = {s.id: s for s in steps}
        if step_id not in by_id:
            self.fail(entry, f"key_step {step_id!r} is not a key step of this action")
        elif phase in phases and by_id[step_id].phase != phase:
            self.fail(entry, f"key_step {step_id} belongs to {by_id[step_id].phase}, not {phase}")

    def weight(self, entry: str, severity: Any, weight: Any, classes: Mapping[str, Any]) -> float:
        """Check the severity class and that the weight lies inside its range."""
        known = self.choice(entry, severity, list(classes), "severity class")
        if not _is_number(weight):
            self.fail(entry, f"weight must be a number, got {weight!r}")
            return 0.0
        lo, hi = classes[severity] if known else (weight, weight)
        if not lo <= weight <= hi:
            self.fail(
                entry, f"weight {_fmt(weight)} outside {severity} range [{_fmt(lo)}, {_fmt(hi)}]"
            )
        return float(weight)

    def modalities(self, entry: str, value: Any) -> list[str]:
        """Check a non-empty list of known modalities (empty result: the list is unusable)."""
        if isinstance(value, list) and not value:
            self.fail(entry, "modalities must list at least one modality")
        names = self.str_list(entry, value, "modalities")
        known = [m for m in names if self.choice(entry, m, MODALITIES, "modality")]
        return known if len(known) == len(names) else []

    def deviation(self, entry: str, value: Any, family: Any) -> Deviation:
        """Check a deviation: known type for this family, side, and type-specific params."""
        if not isinstance(value, Mapping) or "type" not in value:
            self.fail(entry, "must be a mapping with at least a type")
            return Deviation(type="")
        kind, side = value.get("type"), value.get("side", "both")
        params = {str(k): v for k, v in value.items() if k not in ("type", "side")}
        if not self.choice(entry, kind, list(DEVIATION_FAMILIES), "deviation type"):
            return Deviation(type="", side=str(side), params=params)
        allowed = DEVIATION_FAMILIES[kind]
        if allowed is not None and _key(family) in FAMILIES and family not in allowed:
            families = ", ".join(sorted(allowed))
            self.fail(entry, f"{kind} does not apply to family {family!r} (only to {families})")
        sided = kind in SIDED_DEVIATIONS
        if self.choice(entry, side, DEVIATION_SIDES, "side") and sided and side == "both":
            self.fail(entry, f"{kind} needs side left or right")
        self.params(entry, kind, params)
        return Deviation(type=kind, side=side, params=params)

    def params(self, entry: str, kind: str, params: Mapping[str, Any]) -> None:
        """Check the extra keys a deviation type takes (muscle_substitution: two muscles)."""
        expected = DEVIATION_PARAMS.get(kind, ())
        unknown = [k for k in params if k not in expected]
        missing = [k for k in expected if k not in params]
        if unknown:
            self.fail(entry, f"unknown field(s) {', '.join(unknown)} for {kind}")
        if missing:
            self.fail(entry, f"{kind} needs field(s) {', '.join(missing)}")
        if kind == "muscle_substitution" and not missing:
            for key in expected:
                self.choice(entry, params[key], MUSCLES, f"{key} muscle")
            if params["primary"] == params["compensator"]:
                self.fail(entry, "primary and compensator must be different muscles")

    def consistency(
        self, entry: str, deviation: Deviation, severity: Any, modalities: list[str]
    ) -> None:
        """Check the severity and modalities a deviation type implies."""
        if not deviation.type or not modalities:
            return
        fixed = DEVIATION_SEVERITY.get(deviation.type)
        if fixed is not None and severity != fixed:
            self.fail(entry, f"{deviation.type} must have severity {fixed}, not {severity!r}")
        category = deviation_category(deviation.type)
        needed, allowed = CATEGORY_MODALITIES[category]
        if not needed <= set(modalities) <= allowed:
            self.fail(
                entry,
                f"{category} deviation {deviation.type} needs modalities {sorted(needed)}"
                f" (at most {sorted(allowed)}), got {modalities}",
            )

    def feedback(self, entry: str, value: Any, error_id: str) -> Feedback:
        """Check the feedback entry: id `<action>-FB<n>` with the error's number."""
        if not self.fields(entry, value, FEEDBACK_FIELDS):
            return Feedback(id="", text="")
        expected = error_id.replace("-ET", "-FB")
        feedback_id = self.claim_id(entry, value.get("id"), r"A\d{2,}-FB\d+")
        if feedback_id != expected:
            self.fail(
                entry, f"feedback id {feedback_id!r} should be {expected} to match {error_id}"
            )
        return Feedback(id=feedback_id, text=self.text(entry, value.get("text"), "text"))


def _key(x: Any) -> Any:
    """A value safe to look up in sets and dicts (unhashable YAML lists/maps become repr)."""
    return x if isinstance(x, str | int | float | bool | None) else repr(x)


def _is_number(x: Any) -> bool:
    """True for int/float values (bools excluded)."""
    return isinstance(x, int | float) and not isinstance(x, bool)


def _parse(text: str, source: str) -> Any:
    """Parse YAML, turning syntax errors, aliases and duplicate keys into FKGErrors."""
    alias = alias_problem(text)
    if alias is not None:
        raise FKGError(source, [f"{source}: {alias}"])
    loader = _StrictLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<document>"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FKGError(source, [f"{source}: {where}: YAML syntax error: {problem}"]) from exc
    finally:
        loader.dispose()
    if loader.duplicate_keys:
        problems = [
            f"{source}: line {line}: duplicate key {key!r}" for key, line in loader.duplicate_keys
        ]
        raise FKGError(source, problems)
    return data


def parse_fkg(text: str, source: str = "<string>") -> FitnessKnowledgeGraph:
    """Build and check a graph from YAML text; `source` names it in error messages."""
    checker = _Checker(source)
    graph = checker.graph(_parse(text, source))
    if graph is None:
        raise FKGError(source, checker.problems)
    return graph


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> FitnessKnowledgeGraph:
    """Parse once per file version: the graph is immutable, so callers may share it."""
    file = Path(path)
    try:
        text = read_yaml_text(file, display_path(file))
    except ValueError as error:
        raise FKGError(display_path(file), [str(error)]) from None
    graph = parse_fkg(text, display_path(file))
    return dataclasses.replace(graph, source=path)


def load_fkg(path: str | Path | None = None) -> FitnessKnowledgeGraph:
    """Load and validate an FKG file (None: the packaged configs/fkg/flex.yaml)."""
    file = Path(path) if path is not None else DEFAULT_FKG_PATH
    try:
        stat = file.stat()
    except OSError as exc:
        source = display_path(file)
        raise FKGError(source, [f"{source}: cannot read: {exc.strerror or exc}"]) from exc
    if not file.is_file():
        raise FKGError(str(file), [f"{display_path(file)}: not a file"])
    return _load_cached(str(file.resolve()), stat.st_mtime_ns, stat.st_size)
