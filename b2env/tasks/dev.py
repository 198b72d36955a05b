"""Developer tasks: ``inv test`` (the README's test command), ``inv dev.lint``."""

from __future__ import annotations

import sys

from invoke import Collection

from b2env.tasks._common import task


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
    py = sys.executable
    selection = ["-k", k] if k else []
    c.run(" ".join([py, "-m", "pytest", "tests/unit", "-q", *map(repr, selection)]), pty=False)
    if not unit:
        c.run(
            " ".join([py, "-m", "pytest", "tests/integration", "-q", "-m", "integration",
                      *map(repr, selection)]),
            pty=False,
        )


@task(name="lint")
def lint_all(c):
    """ruff, mypy, hadolint on every Dockerfile, actionlint on the workflows."""
    py = sys.executable
    c.run(f"{py} -m ruff check b2env tests scripts tasks.py")
    c.run(f"{py} -m mypy")
    c.run("hadolint containers/*/Dockerfile")
    c.run("actionlint")


ns = Collection("dev")
ns.add_task(test)
ns.add_task(lint_all, name="lint")
