"""Engine checks and labels, with the SDK replaced by fakes."""

from __future__ import annotations

import pytest

from b2env import engine
from b2env.errors import EngineError


def test_labels_are_namespaced() -> None:
    got = engine.labels("run", workdir="/a", mock_grid="yes")
    assert got["org.b2env.managed"] == "true"
    assert got["org.b2env.kind"] == "run"
    assert got["org.b2env.workdir"] == "/a"
    assert got["org.b2env.mock-grid"] == "yes"


def test_old_engine_refused() -> None:
    with pytest.raises(EngineError, match="too old") as err:
        engine.check_version({"ApiVersion": "1.40", "Version": "19.03.15"})
    assert "upgrade Docker Engine" in str(err.value)
    engine.check_version({"ApiVersion": "1.41", "Version": "20.10.24"})
    engine.check_version({"ApiVersion": "1.47", "Version": "27.3.1"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Error while fetching server API version: ('Connection aborted.', "
         "FileNotFoundError(2, 'No such file or directory'))", "not running or not installed"),
        ("('Connection aborted.', PermissionError(13, 'Permission denied'))", "no permission"),
        ("something odd", "cannot talk to the Docker engine"),
    ],
)
def test_unreachable_engine_messages(text: str, expected: str) -> None:
    error = engine._unreachable(Exception(text))
    assert expected in error.what
    assert error.fix


def test_stopped_engine_gives_one_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/b2env-test.sock")
    engine.client.cache_clear()
    try:
        with pytest.raises(EngineError, match="not running or not installed"):
            engine.client()
    finally:
        engine.client.cache_clear()


def test_keep_containers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B2ENV_KEEP_CONTAINERS", "0")
    assert not engine.keep_containers()
    monkeypatch.setenv("B2ENV_KEEP_CONTAINERS", "1")
    assert engine.keep_containers()
