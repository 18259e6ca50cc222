"""The walkthrough notebooks in notebooks/ run from top to bottom in their small mode.

Each notebook is executed with nbclient in a kernel of this very interpreter (a kernelspec
written for the test, so neither a user's nor a system-wide `python3` kernel can stand in for
the venv), with `FUSION_NOTEBOOK_SMALL=1` and `FUSION_NOTEBOOK_OUT` pointing at a temporary
folder. A cell that raises fails the test; then the files each notebook promises are checked.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ("quickstart.ipynb", "video2emg.ipynb", "ablation_results.ipynb")
KERNEL = "fusion-test"
CELL_TIMEOUT_S = 240
WHICH_PYTHON = "import sys; print(sys.executable, end='')"


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> KernelSpecManager:
    """A kernelspec whose argv is this interpreter: the kernel imports the package under test."""
    folder = tmp_path_factory.mktemp("kernels") / KERNEL
    folder.mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fusion tests",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(folder.parent)])


def execute(
    name: str, tmp_path: Path, kernels: KernelSpecManager, monkeypatch
) -> tuple[nbformat.NotebookNode, Path]:
    """Run the notebook in small mode; return it with its outputs, and its output folder.

    A last cell, added here and not to the file, prints the kernel's interpreter.
    """
    out = tmp_path / "out"
    monkeypatch.setenv("FUSION_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("FUSION_NOTEBOOK_OUT", str(out))
    # Connection files and IPython's profile go to a temporary folder, not the user's home.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(WHICH_PYTHON))
    client = NotebookClient(
        notebook,
        km=KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernels),
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}},  # the kernel runs in notebooks/
    )
    client.execute()  # raises CellExecutionError naming the cell if any cell raises
    assert notebook.cells[-1].outputs[0]["text"] == sys.executable
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return notebook, out


def displayed(notebook: nbformat.NotebookNode, mime: str) -> list[str]:
    """Every output of the executed notebook with this MIME type (images, HTML, Markdown)."""
    return [
        output["data"][mime]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type in ("display_data", "execute_result") and mime in output["data"]
    ]


@pytest.fixture()
def untouched_notebooks_folder():
    """Small mode writes nothing next to the notebooks (the kernel's working directory)."""
    before = sorted(p.name for p in NOTEBOOKS.iterdir())
    yield
    assert sorted(p.name for p in NOTEBOOKS.iterdir()) == before


def test_notebooks_are_stored_without_outputs():
    for name in NAMES:
        notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(notebook)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert code and all(not c.outputs and c.execution_count is None for c in code), name
        assert "FUSION_NOTEBOOK_SMALL" in code[0].source, f"{name}: small mode is not read first"


def test_quickstart_trains_and_reports(tmp_path, kernels, monkeypatch, untouched_notebooks_folder):
    notebook, out = execute("quickstart.ipynb", tmp_path, kernels, monkeypatch)
    assert (out / "synth-small" / "dataset.json").is_file()
    (folder,) = (out / "runs").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "test/rho_fkg" in metrics and metrics["epochs"] >= 1
    page = (folder / "report.html").read_text()
    assert page.count('class="card"') == 3
    with (folder / "predictions.csv").open() as handle:
        tested = [row["key"] for row in csv.DictReader(handle)]
    # The views, the skeleton and the sEMG plots, then one report card of a tested sample.
    assert len(displayed(notebook, "image/png")) == 3
    (card,) = [html for html in displayed(notebook, "text/html") if 'class="card"' in html]
    assert f'id="card-{tested[0]}"' in card and "<img" in card
    text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "Spearman rho (FKG score)" in text  # format_metrics' table


def test_video2emg_writes_its_results_table(
    tmp_path, kernels, monkeypatch, untouched_notebooks_folder
):
    notebook, out = execute("video2emg.ipynb", tmp_path, kernels, monkeypatch)
    bench = out / "bench"
    with (bench / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["model"], r["protocol"]) for r in rows] == [
        ("action_mean", "random"),
        ("nearest_pose", "random"),
        ("pose_transformer", "random"),
    ]
    assert all(float(r["mae"]) >= 0 for r in rows)
    table = (bench / "results.md").read_text()
    assert "| random | pose_transformer | 1 |" in table
    assert any("pose_transformer" in md for md in displayed(notebook, "text/markdown"))
    assert (bench / "runs" / "pose_transformer-random-s0" / "config.yaml").is_file()
    assert len(displayed(notebook, "image/png")) == 2  # envelopes.png and per_muscle_r.png


def test_ablation_results_reads_back_a_tiny_study(
    tmp_path, kernels, monkeypatch, untouched_notebooks_folder
):
    notebook, out = execute("ablation_results.ipynb", tmp_path, kernels, monkeypatch)
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["model.fuser.name"], r["seed"]) for r in rows) == [
        ("concat", "0"),
        ("concat", "1"),
        ("gated", "0"),
        ("gated", "1"),
    ]
    assert {r["status"] for r in rows} == {"done"}
    assert all(r["test/rho_fkg"] != "" for r in rows)
    results = (out / "results.md").read_text()
    assert "| concat | 2 |" in results and "| gated | 2 |" in results
    assert "## Checks" in results
    assert (out / "plot_model_fuser_name.png").stat().st_size > 0
    assert len(displayed(notebook, "image/png")) == 1
    checks = [md for md in displayed(notebook, "text/markdown") if "test/rho_fkg" in md]
    assert checks and "gated" in checks[0] and "concat" in checks[0]
