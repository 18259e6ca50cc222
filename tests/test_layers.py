"""The import contracts of pyproject.toml (docs/architecture.md) hold for the package, and they
would catch an import that breaks them, so a passing run means something."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.api import read_configuration
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import Contract

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
CONTRACT_TYPES: dict[str, type[Contract]] = {
    "layers": LayersContract,
    "forbidden": ForbiddenContract,
}


def contracts() -> dict[str, Contract]:
    """The contracts of pyproject.toml by id, built as `lint-imports` builds them."""
    config = read_configuration(str(PYPROJECT))
    built = {}
    for options in config["contracts_options"]:
        kind = CONTRACT_TYPES[options["type"]]
        built[options["id"]] = kind(options["name"], config["session_options"], options)
    return built


def graph(*extra_imports: tuple[str, str]) -> grimp.ImportGraph:
    """fusion's import graph (uncached), plus the given (importer, imported) edges."""
    built = grimp.build_graph("fusion", cache_dir=None)
    for importer, imported in extra_imports:
        built.add_import(importer=importer, imported=imported)
    return built


def _path(chain: list[dict[str, Any]]) -> str:
    """`a -> b -> c` for a chain of import links."""
    return " -> ".join([chain[0]["importer"]] + [link["imported"] for link in chain])


def broken(check: Any) -> str:
    """The offending import chains of a failed check, one per line."""
    lines = [
        _path(route["chain"])
        for dependency in check.metadata.get("invalid_dependencies", [])
        for route in dependency["routes"]
    ]
    lines += [
        _path(chain)
        for found in check.metadata.get("invalid_chains", [])
        for chain in found["chains"]
    ]
    undeclared = check.metadata.get("undeclared_modules")
    if undeclared:
        lines.append(f"modules without a layer: {sorted(str(m) for m in undeclared)}")
    return "\n".join(lines)


def test_the_config_declares_the_layers_and_the_simulator_contract():
    assert set(contracts()) == {"layers", "synth-writes-no-reader"}


@pytest.mark.parametrize("contract_id", ["layers", "synth-writes-no-reader"])
def test_the_package_keeps_the_contract(contract_id):
    check = contracts()[contract_id].check(graph(), verbose=False)
    assert check.kept, f"{contract_id} broken:\n{broken(check)}"


@pytest.mark.parametrize(
    ("contract_id", "importer", "imported"),
    [
        ("layers", "fusion.data.flex", "fusion.models.aqa"),  # data reaching up to models
        ("layers", "fusion.data.fitness_aqa", "fusion.synth.presets"),  # a reader on the simulator
        ("layers", "fusion.fkg.graph", "fusion.config"),  # the bottom reaching up
        ("layers", "fusion.reports.emg", "fusion.bench.video2emg"),  # independent runners
        ("synth-writes-no-reader", "fusion.synth.writers", "fusion.data.flex"),
    ],
)
def test_an_import_that_breaks_the_contract_is_caught(contract_id, importer, imported):
    check = contracts()[contract_id].check(graph((importer, imported)), verbose=False)
    assert not check.kept
    assert f"{importer} -> {imported}" in broken(check)


def test_a_module_without_a_layer_is_caught():
    unplaced = graph()
    unplaced.add_module("fusion.unplaced")
    check = contracts()["layers"].check(unplaced, verbose=False)
    assert not check.kept
    assert "fusion.unplaced" in broken(check)
