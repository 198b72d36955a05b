"""Developer tasks: ``inv test`` (the README's test command) and ``inv dev.lint``."""

from __future__ import annotations

import sys
from pathlib import Path

from invoke import Collection

from b2env.errors import B2envError
from b2env.runner import run
from b2env.tasks._common import task

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    """A linter installed by the test extras, next to this interpreter (venv) or on PATH."""
    local = BIN / name
    return str(local) if local.exists() else name


def _step(argv: list[str], what: str) -> None:
    print(f"\n==> {what}", flush=True)
    result = run(argv, cwd=REPO, capture=False, check=False)
    if result.returncode != 0:
        raise B2envError(f"{what} failed (exit code {result.returncode})", fix="see the output above")


def _pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args]


@task(
    help={
        "unit": "run only the unit tests (no Docker)",
        "lint": "run the linters first (default on)",
        "k": "only tests matching this pytest -k expression",
    }
)
def test(c, unit=False, lint=True, k=None):
    """Lint, then unit tests, then integration tests against the real Docker engine."""
    if lint:
        lint_all(c)
    selection = ["-k", k] if k else []
    _step(_pytest("tests/unit", "-q", *selection), "unit tests")
    if not unit:
        _step(_pytest("tests/integration", "-q", "-m", "integration", *selection), "integration tests")


@task(name="lint")
def lint_all(c):
    """ruff, mypy, hadolint on every Dockerfile, actionlint on the workflows."""
    _step([sys.executable, "-m", "ruff", "check", "b2env", "tests", "scripts", "tasks.py"], "ruff")
    _step([sys.executable, "-m", "mypy"], "mypy")
    dockerfiles = sorted(str(p.relative_to(REPO)) for p in REPO.glob("containers/*/Dockerfile*"))
    _step([_tool("hadolint"), *dockerfiles], "hadolint")
    _step([_tool("actionlint")], "actionlint")


ns = Collection("dev")
ns.add_task(test)
ns.add_task(lint_all, name="lint")
