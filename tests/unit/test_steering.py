"""Static steering-file checks (b2env.steering) on the shipped examples and small sources."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from invoke import Context
from invoke.exceptions import Exit

from b2env import runner, steering
from b2env.config import Config
from b2env.errors import Basf2Error
from b2env.tasks import basf2 as tasks

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def findings(source: str) -> list[str]:
    return [str(f) for f in steering.check_tree(ast.parse(source))]


def test_grid_ready_examples_have_no_errors():
    for name in ("test_basf2.py", "steering_taupair.py"):
        assert [f for f in steering.check_file(EXAMPLES / name) if f.level == "error"] == []
    assert steering.check_file(EXAMPLES / "steering_taupair.py") == []


def test_not_grid_ready_example_is_flagged_line_by_line():
    found = [str(f) for f in steering.check_file(EXAMPLES / "broken" / "not_grid_ready.py")]
    assert any(f.startswith("line 7: warning: hard-coded input file(s)") for f in found)
    assert any(f.startswith("line 7: warning: absolute path") for f in found)
    assert any(f.startswith("line 9: error: output file '/tmp/pions.root' must be a plain")
               for f in found)
    assert any(f.startswith("line 10: error: output file 'pions.txt' must end in .root")
               for f in found)


def test_tutorial_hard_coded_input_is_flagged():
    found = [str(f) for f in steering.check_file(EXAMPLES / "steering_simple.py")]
    assert any("line 9: warning: hard-coded input" in f for f in found)


def test_missing_and_unparsable_files_are_errors(tmp_path):
    assert str(steering.check_file(tmp_path / "nope.py")[0]).startswith("error: the steering")
    syntax = steering.check_file(EXAMPLES / "broken" / "syntax_error.py")
    assert syntax[0].level == "error" and "syntax" in syntax[0].message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("p.add_module('RootOutput', outputFileName='out/x.root')", "must be a plain basename"),
        ("p.add_module('RootInput', inputFileNames=['a.root'])", "hard-coded input"),
        ("m.param('inputFileName', 'a.root')", "hard-coded input"),
        ("ma.outputMdst('skim.mdst', path=p)", "must end in .root"),
        ("ma.variablesToNtuple('pi+', ['p'], 'tree', name, path=p)", "computed at run time"),
    ],
)
def test_calls_that_name_files(source, expected):
    assert any(expected in f for f in findings(source))


def test_empty_input_lists_and_plain_outputs_pass():
    assert findings("ma.inputMdstList([], path=p)\nma.inputMdst('', p)\n"
                    "ma.variablesToNtuple('pi+', ['p'], filename='n.root', path=p)") == []


def test_dry_run_output_is_parsed():
    log = ("[INFO] Steering file: s.py\n[INFO] Dry run input files: a.root, b.root\n"
           "[INFO] Dry run output files: (none)\n")
    assert steering.parse_dry_run(log) == (["a.root", "b.root"], [])


def test_check_task_fails_on_errors_and_on_dry_run_outputs(tmp_path, monkeypatch, capsys):
    cfg = Config(workdir=str(tmp_path))
    (tmp_path / "good.py").write_text("import basf2\n")
    monkeypatch.setattr(tasks, "config", lambda **kw: cfg)
    monkeypatch.setattr(steering, "dry_run", lambda c, s: steering.DryRun(
        0, ["in.root"], ["n.root"], ""))
    tasks.check(Context(), "good.py")
    assert "ready for the grid" in capsys.readouterr().out
    monkeypatch.setattr(steering, "dry_run", lambda c, s: steering.DryRun(
        0, [], ["sub/n.root"], ""))
    with pytest.raises(Exit) as caught:
        tasks.check(Context(), "good.py")
    assert caught.value.code == Basf2Error.exit_code
    assert "good.py: 1 problem(s) to fix before the grid" in capsys.readouterr().err
    monkeypatch.setattr(steering, "dry_run", lambda c, s: steering.DryRun(1, [], [], "boom"))
    with pytest.raises(Exit):
        tasks.check(Context(), "good.py")
    assert "basf2 --dry-run failed with exit code 1" in capsys.readouterr().out


def test_check_task_without_dry_run_does_not_start_a_container(tmp_path, monkeypatch):
    cfg = Config(workdir=str(tmp_path))
    (tmp_path / "good.py").write_text("import basf2\n")
    monkeypatch.setattr(tasks, "config", lambda **kw: cfg)
    monkeypatch.setattr(runner, "run", lambda *a, **k: pytest.fail("no command may run"))
    tasks.check(Context(), "good.py", no_dry_run=True)
