"""The container run policy and command lines, without an engine."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import types
from pathlib import Path

import pytest

from b2env import container, runner
from b2env.config import Config
from b2env.container import Mount
from b2env.errors import ConfigError, ImageError
from b2env.tasks.shell import remainder_words

IMAGE = "b2env/user:debian12-0123456789ab"


@pytest.fixture
def cfg(tmp_path: Path, fake_home: Path) -> Config:
    work = tmp_path / "analysis"
    work.mkdir()
    (tmp_path / "proxy").mkdir()
    return Config(
        os="debian12",
        cvmfs_mode="none",
        grid_mode="real",
        workdir=str(work),
        state_dir=str(tmp_path / "state"),
        globus_dir=str(fake_home / ".globus"),
        proxy_path=str(tmp_path / "proxy" / "x509up_u1234"),
    )


def spec(cfg: Config, argv: tuple[str, ...] = ("true",), **kw: object) -> container.RunSpec:
    return container.run_spec(cfg, argv, image=IMAGE, **kw)  # type: ignore[arg-type]


def by_target(s: container.RunSpec) -> dict[str, Mount]:
    return {m.target: m for m in s.mounts}


def test_runs_as_caller_in_the_work_dir_at_the_same_path(cfg: Config) -> None:
    s = spec(cfg)
    work = str(cfg.work_path)
    assert s.user == f"{os.getuid()}:{os.getgid()}"
    assert s.workdir == work
    assert by_target(s)[work] == Mount(work, work, read_only=False)


def test_environment_is_an_allow_list(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "leak")
    monkeypatch.setenv("PYTHONPATH", "/host/only")
    monkeypatch.setenv("TERM", "xterm-256color")
    env = spec(cfg).env
    assert "AWS_SECRET_ACCESS_KEY" not in env and "PYTHONPATH" not in env
    assert env["TERM"] == "xterm-256color"
    assert env["X509_USER_PROXY"] == str(cfg.proxy_file)
    grid = "/cvmfs/grid.cern.ch/etc/grid-security"
    assert env["X509_CERT_DIR"] == f"{grid}/certificates"
    assert env["X509_VOMSES"] == f"{grid}/vomses"
    assert env["X509_VOMS_DIR"] == f"{grid}/vomsdir"
    assert env["HOME"] == os.environ["HOME"]


def test_extra_env_wins(cfg: Config) -> None:
    assert spec(cfg, env={"HOME": "/elsewhere", "BELLE2_X": "1"}).env["HOME"] == "/elsewhere"


def test_globus_bound_read_only_when_present(cfg: Config) -> None:
    cfg.globus_path.mkdir()
    mount = by_target(spec(cfg))[str(cfg.globus_path)]
    assert mount.read_only and mount.source == str(cfg.globus_path)


def test_missing_globus_warns_once_and_still_runs(
    cfg: Config, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="b2env.container"):
        first = spec(cfg)
        spec(cfg)
    assert str(cfg.globus_path) not in by_target(first)
    warnings = [r for r in caplog.records if ".globus" in r.getMessage()]
    assert len(warnings) == 1


def test_home_is_a_private_tmpfs_with_globus_inside(cfg: Config) -> None:
    cfg.globus_path.mkdir()
    mounts = by_target(spec(cfg))
    assert mounts[os.environ["HOME"]].kind == "tmpfs"
    args = container.docker_argv(spec(cfg))
    assert args.index("--tmpfs") < args.index(f"type=bind,source={cfg.globus_path},"
                                              f"target={cfg.globus_path},readonly")


def test_proxy_directory_shared_read_write(cfg: Config) -> None:
    parent = str(cfg.proxy_file.parent)
    assert by_target(spec(cfg))[parent] == Mount(parent, parent, read_only=False)


def test_proxy_in_home_shares_home_instead_of_a_tmpfs(cfg: Config, fake_home: Path) -> None:
    s = spec(cfg.with_overrides(proxy_path=str(fake_home / "x509up")))
    assert by_target(s)[str(fake_home)] == Mount(str(fake_home), str(fake_home), read_only=False)


def test_host_cvmfs_binds_all_of_cvmfs_rslave(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container, "host_has_cvmfs", lambda cfg: True)
    monkeypatch.setattr(container, "propagates", lambda path: True)
    s = spec(cfg.with_overrides(cvmfs_mode="host"))
    assert by_target(s)["/cvmfs"] == Mount("/cvmfs", "/cvmfs", True, "rslave")
    assert "type=bind,source=/cvmfs,target=/cvmfs,readonly,bind-propagation=rslave" in (
        container.docker_argv(s)
    )


MOUNTINFO = """\
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 27 0:35 / /cvmfs rw,relatime shared:20 - autofs systemd-1 rw
90 40 0:60 / /cvmfs/belle.cern.ch ro,relatime shared:50 - fuse cvmfs2 ro
"""


def test_propagation_is_read_from_mountinfo() -> None:
    assert container.propagates("/cvmfs", MOUNTINFO)
    private = MOUNTINFO.replace("shared:20", "").replace("shared:1", "")
    assert not container.propagates("/cvmfs", private)
    assert container.propagates("/cvmfs", private.replace("shared:1", "master:3")) is False
    assert container.propagates("/data/x", "27 1 254:0 / / rw master:3 - ext4 /dev/vda rw")


def test_private_cvmfs_mount_binds_without_propagation(
    cfg: Config, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(container, "host_has_cvmfs", lambda cfg: True)
    monkeypatch.setattr(container, "propagates", lambda path: False)
    with caplog.at_level(logging.WARNING, logger="b2env.container"):
        s = spec(cfg.with_overrides(cvmfs_mode="host"))
    assert by_target(s)["/cvmfs"] == Mount("/cvmfs", "/cvmfs", True, None)
    assert any("private mount" in r.getMessage() for r in caplog.records)


def test_host_mode_without_cvmfs_is_refused(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container, "host_has_cvmfs", lambda cfg: False)
    with pytest.raises(ConfigError, match="cvmfs_mode is 'host'"):
        spec(cfg.with_overrides(cvmfs_mode="host"))


def test_auto_detects_host_cvmfs_by_content(cfg: Config, tmp_path: Path) -> None:
    root = tmp_path / "cvmfs"
    (root / "belle.cern.ch").mkdir(parents=True)
    assert not container.host_has_cvmfs(cfg, root)
    (root / "belle.cern.ch" / "tools").mkdir()
    assert container.host_has_cvmfs(cfg, root)


def test_mock_mode_binds_staged_tree_and_joins_grid_network(
    cfg: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = tmp_path / "staged"
    fake = types.ModuleType("b2env.mockcvmfs")
    fake.ensure_staged = lambda cfg: staged  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "b2env.mockcvmfs", fake)
    monkeypatch.setattr("b2env.mockcvmfs", fake, raising=False)
    s = spec(cfg.with_overrides(cvmfs_mode="mock", grid_mode="auto"))
    assert by_target(s)["/cvmfs"] == Mount(str(staged), "/cvmfs", read_only=True)
    assert s.network == cfg.network
    assert spec(cfg.with_overrides(cvmfs_mode="mock", grid_mode="real")).network is None


def test_mock_mode_without_the_stand_in_says_so(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    import b2env

    monkeypatch.setitem(sys.modules, "b2env.mockcvmfs", None)
    monkeypatch.delattr(b2env, "mockcvmfs", raising=False)
    with pytest.raises(ImageError, match="mock CVMFS"):
        spec(cfg.with_overrides(cvmfs_mode="mock"))


def test_docker_argv_shape(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("B2ENV_KEEP_CONTAINERS", raising=False)
    s = spec(cfg, ("bash", "-c", "echo 'a b'"), interactive=False)
    args = container.docker_argv(s)
    assert args[:4] == ["docker", "run", "--pull", "never"]
    assert args[-4:] == [IMAGE, "bash", "-c", "echo 'a b'"]
    assert "--rm" in args and "--interactive" not in args and "--tty" not in args
    assert ["--security-opt", "no-new-privileges"] == args[args.index("--security-opt"):][:2]
    assert "org.b2env.managed=true" in args
    assert s.name.startswith("b2env-run-")


def test_keep_containers_drops_rm(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B2ENV_KEEP_CONTAINERS", "1")
    assert "--rm" not in container.docker_argv(spec(cfg))


def test_tty_only_when_stdin_is_a_tty(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container, "_isatty", lambda stream: False)
    monkeypatch.setattr(container, "stdin_has_input", lambda: False)
    s = spec(cfg)
    assert not s.tty and not s.interactive
    monkeypatch.setattr(container, "stdin_has_input", lambda: True)
    s = spec(cfg)
    assert s.interactive and not s.tty  # piped input reaches the command, no TTY
    monkeypatch.setattr(container, "_isatty", lambda stream: True)
    s = spec(cfg)
    assert s.tty and s.interactive
    assert {"--interactive", "--tty"} <= set(container.docker_argv(s))


def test_captured_runs_never_get_a_tty(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(runner, "run", lambda argv, **kw: seen.append(argv)
                        or runner.Completed(argv, 0, "", ""))
    tty_spec = dataclasses.replace(spec(cfg), tty=True, interactive=True)
    container.execute(tty_spec, capture=True)
    assert "--tty" not in seen[0] and "--interactive" not in seen[0]


def test_paths_with_commas_are_quoted(cfg: Config, tmp_path: Path) -> None:
    odd = tmp_path / "a,b"
    odd.mkdir()
    option = container.mount_option(Mount(str(odd), "/data", read_only=True))
    assert option == ["--mount", f'type=bind,"source={odd}",target=/data,readonly']


def test_apptainer_argv(cfg: Config) -> None:
    args = container.apptainer_argv(spec(cfg, ("basf2", "--info")), "/sif/user.sif")
    work = str(cfg.work_path)
    assert args[:3] == ["apptainer", "exec", "--cleanenv"]
    assert f"{work}:{work}:rw" in args
    assert args[-3:] == ["/sif/user.sif", "basf2", "--info"]


def test_helper_wrappers() -> None:
    assert container.with_basf2("release-08-00-00", ["basf2", "--info"]) == [
        "/usr/local/libexec/b2env/with-basf2", "release-08-00-00", "--", "basf2", "--info"]
    cfg = Config(group="belle_starterkit", gbasf2_setup="/opt/gbasf2/bashrc")
    assert container.with_gbasf2(cfg, ["gb2_proxy_info"]) == [
        "/usr/local/libexec/b2env/with-gbasf2", "--group", "belle_starterkit",
        "--setup", "/opt/gbasf2/bashrc", "--", "gb2_proxy_info"]
    assert "--setup" not in container.with_gbasf2(Config(), ["gbasf2"])


def test_execute_with_input_opens_stdin(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_run(argv: list[str], **kw: object) -> runner.Completed:
        seen.update(argv=argv, **kw)
        return runner.Completed(argv, 3, "out", "")

    monkeypatch.setattr(runner, "run", fake_run)
    done = container.execute(spec(cfg, interactive=False), input="secret\n", capture=True)
    assert done.returncode == 3
    assert "--interactive" in seen["argv"] and "--tty" not in seen["argv"]  # type: ignore[operator]
    assert seen["input"] == "secret\n"


def test_remainder_keeps_quoting() -> None:
    argv = ["inv", "shell", "--", "bash", "-c", "echo 'a b'"]
    assert remainder_words("bash -c echo 'a b'", argv) == ["bash", "-c", "echo 'a b'"]
    assert remainder_words("id -u", ["b2env", "shell"]) == ["id", "-u"]
    assert remainder_words("", ["inv", "shell"]) == []


def test_network_is_made_once_and_again_when_it_went_away(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    codes = iter([125, 0])
    monkeypatch.setattr(container.engine, "network_known", lambda name: True)
    monkeypatch.setattr(container.engine, "network_exists", lambda name: False)
    monkeypatch.setattr(container.engine, "ensure_network", lambda name: calls.append(name))
    monkeypatch.setattr(runner, "run",
                        lambda argv, **kw: runner.Completed(argv, next(codes), "", ""))
    s = dataclasses.replace(spec(cfg), network="b2env-grid")
    assert container.execute(s, capture=True).returncode == 0
    assert calls == ["b2env-grid"]
