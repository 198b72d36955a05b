"""Fixtures every test may use. Nothing here touches Docker or the user's real home."""

from __future__ import annotations

from pathlib import Path

import pytest

from b2env import testca


@pytest.fixture(scope="session")
def test_ca() -> testca.Identity:
    return testca.make_ca()


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away HOME with no b2env config, so no layer leaks in from the developer."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("X509_USER_PROXY", raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("B2ENV_") and name not in ("B2ENV_KEEP_CONTAINERS", "B2ENV_DEBUG"):
            monkeypatch.delenv(name)
    return home
