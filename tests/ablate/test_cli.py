"""`fusion ablate` on the command line: bad files exit 2 with one line; --table rebuilds."""

from __future__ import annotations

from fusion.cli import main

STUDY = """
ablation: cli
axes:
  model.fuser.name: [concat, gated]
seeds: [0, 1]
metrics: [test/rho]
"""


def test_a_bad_study_file_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("ablation: x\naxes: {}\n")
    assert main(["ablate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fusion ablate: ") and "axes: expected a mapping" in err
    assert "\n" not in err
    assert main(["ablate", str(tmp_path / "none.yaml")]) == 2


def test_table_rebuilds_results_md_from_results_csv(tmp_path, capsys):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text(
        "run,model.fuser.name,seed,status,test/rho\n"
        "a,concat,0,done,0.5\na,concat,1,done,0.7\n"
        "b,gated,0,done,0.8\nb,gated,1,failed,\n"
    )
    assert main(["ablate", str(path), "--out", str(out), "--table"]) == 0
    text = (out / "results.md").read_text()
    assert "| concat | 2 | 0.600 ± 0.141 |" in text
    assert "| gated | 1 | 0.800 |" in text
    assert "- b: failed" in text
    assert (out / "plot_model_fuser_name.png").is_file()
    assert "results.md" in capsys.readouterr().out
