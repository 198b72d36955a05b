"""scripts/grid_job_monitor.py (the tutorial's monitor) and `inv grid.*` refusing bad input
before anything runs; gb2 calls go to a fake grid (no Docker)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from b2env import gbasf2
from tests.unit.test_monitor import FakeGrid

ROOT = Path(__file__).resolve().parents[2]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "grid_job_monitor", ROOT / "scripts" / "grid_job_monitor.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def grid(monkeypatch: pytest.MonkeyPatch, fake_home: Path, tmp_path: Path) -> FakeGrid:
    fake = FakeGrid({"11": ("Done", "Done"), "12": ("Failed", "Failed")})
    monkeypatch.setattr(gbasf2, "container_caller", lambda cfg, **kw: fake)
    monkeypatch.chdir(tmp_path)
    return fake


def test_script_reschedules_and_exits_zero_when_all_done(grid: FakeGrid, tmp_path: Path) -> None:
    log_file = tmp_path / "monitor.log"
    code = load_script().main(
        [
            "--project",
            "ana01",
            "--check-interval",
            "0",
            "--auto-resubmit",
            "--max-retries",
            "2",
            "--log-file",
            str(log_file),
        ]
    )
    assert code == 0 and grid.rescheduled == ["12"]
    text = log_file.read_text()
    assert "ana01: 1/2 done" in text and "all jobs done" in text
    assert (tmp_path / ".b2env/projects/ana01.monitor.json").is_file()


def test_script_without_auto_resubmit_exits_one(grid: FakeGrid) -> None:
    code = load_script().main(["--project", "ana01", "--check-interval", "0"])
    assert code == 1 and grid.rescheduled == []


def test_script_by_job_id_asks_for_those_jobs(grid: FakeGrid) -> None:
    code = load_script().main(["--job-id", "11", "--check-interval", "0"])
    assert code == 0
    assert grid.calls[-1][:3] == ["gb2_job_status", "-j", "11"]


def test_script_refuses_bad_project_name(
    grid: FakeGrid, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load_script().main(["--project", "a b;c"]) == 2
    assert "not allowed" in capsys.readouterr().err and grid.calls == []


def test_inv_grid_submit_with_shell_metacharacters_runs_nothing(
    tmp_path: Path, fake_home: Path
) -> None:
    (tmp_path / "steering.py").write_text("import basf2\n")
    argv = [
        sys.executable,
        "-m",
        "invoke",
        "--search-root",
        str(ROOT),
        "grid.submit",
        "steering.py",
        "--project",
        "ana01",
        "--dataset",
        "/belle/MC/x;touch pwned",
        "--workdir",
        str(tmp_path),
        "--yes",
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "characters the grid catalog cannot handle" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "pwned").exists()
