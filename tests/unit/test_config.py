"""Configuration layering and refusal: defaults < user file < b2env.yaml < B2ENV_* < arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from b2env.config import Config, describe, load_config
from b2env.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def analysis(tmp_path: Path) -> Path:
    directory = tmp_path / "analysis"
    directory.mkdir()
    return directory


def test_defaults_without_any_file(fake_home: Path, analysis: Path) -> None:
    cfg = load_config(analysis, env={"HOME": str(fake_home)})
    assert cfg.release == "release-08-00-00"
    assert cfg.os == "el9"
    assert cfg.group == "belle"
    assert cfg.sources["os"] == "default"
    assert cfg.work_path == analysis.resolve()


def test_each_layer_overrides_the_one_below(fake_home: Path, analysis: Path) -> None:
    user = write(fake_home / ".config/b2env/config.yaml", "os: ubuntu2404\ngroup: belle_starterkit\n")
    project = write(analysis / "b2env.yaml", "# project\nos: debian12\nrelease: light-2511-gacrux\n")
    env = {"HOME": str(fake_home), "B2ENV_RELEASE": "release-09-00-15"}

    cfg = load_config(analysis, env=env, overrides={"max_retries": 5})

    assert cfg.group == "belle_starterkit"
    assert cfg.sources["group"] == f"{user}:2"
    assert cfg.os == "debian12"
    assert cfg.sources["os"] == f"{project}:2"
    assert cfg.release == "release-09-00-15"
    assert cfg.sources["release"] == "env B2ENV_RELEASE"
    assert cfg.max_retries == 5
    assert cfg.sources["max_retries"] == "argument"


def test_environment_values_are_converted(fake_home: Path, analysis: Path) -> None:
    env = {"HOME": str(fake_home), "B2ENV_MAX_RETRIES": "7", "B2ENV_CVMFS_REPOS": "a.b, c.d"}
    cfg = load_config(analysis, env=env)
    assert cfg.max_retries == 7
    assert cfg.cvmfs_repos == ("a.b", "c.d")


def test_unknown_key_is_refused_with_file_and_line(fake_home: Path, analysis: Path) -> None:
    project = write(analysis / "b2env.yaml", "release: release-08-00-00\nrelaese: x\n")
    with pytest.raises(ConfigError) as err:
        load_config(analysis, env={"HOME": str(fake_home)})
    message = str(err.value)
    assert "unknown configuration key 'relaese'" in message
    assert f"{project}, line 2" in message
    assert err.value.exit_code == 2


def test_wrong_type_is_refused(fake_home: Path, analysis: Path) -> None:
    write(analysis / "b2env.yaml", "max_retries: lots\n")
    with pytest.raises(ConfigError, match=r"'max_retries' .* line 1 has the wrong type"):
        load_config(analysis, env={"HOME": str(fake_home)})


def test_list_where_a_string_belongs_is_refused(fake_home: Path, analysis: Path) -> None:
    write(analysis / "b2env.yaml", "os:\n  - el9\n")
    with pytest.raises(ConfigError, match="wrong type"):
        load_config(analysis, env={"HOME": str(fake_home)})


def test_broken_yaml_names_file_and_line(fake_home: Path, analysis: Path) -> None:
    project = write(analysis / "b2env.yaml", "release: release-08-00-00\nos: [el9\n")
    with pytest.raises(ConfigError) as err:
        load_config(analysis, env={"HOME": str(fake_home)})
    assert str(project) in str(err.value)
    assert "not valid YAML" in str(err.value)
    assert "line" in str(err.value)


def test_top_level_must_be_a_mapping(fake_home: Path, analysis: Path) -> None:
    write(analysis / "b2env.yaml", "- release-08-00-00\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(analysis, env={"HOME": str(fake_home)})


@pytest.mark.parametrize("bad", ["centos7", "EL9", ""])
def test_unknown_os_is_refused(fake_home: Path, analysis: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match="not one of el9, ubuntu2404, debian12"):
        load_config(analysis, env={"HOME": str(fake_home), "B2ENV_OS": bad})


@pytest.mark.parametrize("bad", ["release-8-0-0", "08-00-00", "light-gacrux", "release-08-00-00; rm"])
def test_release_pattern_is_enforced(fake_home: Path, analysis: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match="does not look like a basf2 release"):
        load_config(analysis, env={"HOME": str(fake_home)}, overrides={"release": bad})


@pytest.mark.parametrize("good", ["release-08-00-00", "light-2511-gacrux", "prerelease-09-00-00a"])
def test_release_pattern_accepts_real_names(fake_home: Path, analysis: Path, good: str) -> None:
    assert load_config(analysis, env={"HOME": str(fake_home)}, overrides={"release": good}).release == good


def test_missing_work_directory_is_refused(fake_home: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nowhere", env={"HOME": str(fake_home)})


def test_group_must_be_a_belle_group(fake_home: Path, analysis: Path) -> None:
    with pytest.raises(ConfigError, match="not a Belle II DIRAC group"):
        load_config(analysis, env={"HOME": str(fake_home), "B2ENV_GROUP": "atlas"})


def test_behaviour_switches_are_not_config_keys(fake_home: Path, analysis: Path) -> None:
    env = {"HOME": str(fake_home), "B2ENV_DEBUG": "1", "B2ENV_KEEP_CONTAINERS": "1"}
    assert load_config(analysis, env=env) == Config(workdir=str(analysis))


def test_proxy_file_follows_x509_user_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X509_USER_PROXY", "/somewhere/x509up_test")
    assert str(Config().proxy_file) == "/somewhere/x509up_test"
    monkeypatch.delenv("X509_USER_PROXY")
    assert Config().proxy_file.name.startswith("x509up_u")
    assert str(Config(proxy_path="/p/x").proxy_file) == "/p/x"


def test_describe_lists_every_key_with_its_source(fake_home: Path, analysis: Path) -> None:
    rows = describe(load_config(analysis, env={"HOME": str(fake_home), "B2ENV_OS": "debian12"}))
    assert ("os", "debian12", "env B2ENV_OS") in rows
    assert "sources" not in {key for key, _, _ in rows}
