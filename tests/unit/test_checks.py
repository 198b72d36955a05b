"""The doctor without Docker: host checks with injected faults (one failing line each, naming
its fix), the JSON form, and the in-container probe run on the host against a fake CVMFS tree
and fake helpers (C09 among them)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from b2env import certificates, checks, testca
from b2env.config import Config

PASSPHRASE = "key passphrase"


@pytest.fixture
def user(test_ca: testca.Identity) -> testca.Identity:
    return testca.make_user(test_ca, "Alex Example")


@pytest.fixture
def cfg(tmp_path: Path, test_ca: testca.Identity, user: testca.Identity) -> Config:
    p12 = testca.write_p12(user, test_ca, tmp_path / "usercred.p12", b"pw")
    certificates.import_p12(p12, tmp_path / "globus", p12_password="pw",
                            key_passphrase=PASSPHRASE)
    (tmp_path / "proxydir").mkdir()
    proxy_file = tmp_path / "proxydir" / "x509up"
    proxy_file.write_bytes(testca.make_proxy(user))
    os.chmod(proxy_file, 0o600)
    return Config(cvmfs_mode="none", grid_mode="real", image="b2env/test:unit",
                  globus_dir=str(tmp_path / "globus"), workdir=str(tmp_path),
                  proxy_path=str(proxy_file), state_dir=str(tmp_path / "state"))


def host_checks(cfg: Config, passphrase: str | None = PASSPHRASE) -> list[checks.Check]:
    return checks.credential_checks(cfg, passphrase) + checks.proxy_checks(cfg)


def test_healthy_credentials_all_ok(cfg: Config) -> None:
    results = host_checks(cfg)
    assert [c.id for c in results] == ["cert.file", "cert.key", "cert.pair", "cert.dir",
                                       "cert.strength", "proxy.file", "proxy.time",
                                       "proxy.group", "proxy.strength"]
    assert {c.status for c in results} == {"ok"}


def test_encrypted_key_without_passphrase_skips_the_pair_check(cfg: Config) -> None:
    pair = {c.id: c for c in host_checks(cfg, passphrase=None)}["cert.pair"]
    assert pair.status == "skip" and "inv cert.check" in pair.message


# -- one fault, one failing line ----------------------------------------------------------------
def remove_cert(cfg: Config, ca: testca.Identity) -> None:
    certificates.cert_path(cfg.globus_path).unlink()


def truncate_cert(cfg: Config, ca: testca.Identity) -> None:
    path = certificates.cert_path(cfg.globus_path)
    path.write_bytes(path.read_bytes()[:200])


def expire_cert(cfg: Config, ca: testca.Identity) -> None:
    now = testca.now()
    old = testca.make_user(ca, "Alex Example", not_before=now - dt.timedelta(days=400),
                           not_after=now - dt.timedelta(days=1))
    certificates.cert_path(cfg.globus_path).write_bytes(old.cert_pem)


def loosen_key(cfg: Config, ca: testca.Identity) -> None:
    os.chmod(certificates.key_path(cfg.globus_path), 0o644)


def empty_key(cfg: Config, ca: testca.Identity) -> None:
    key = certificates.key_path(cfg.globus_path)
    os.chmod(key, 0o600)
    key.write_bytes(b"")
    os.chmod(key, 0o400)


def swap_key(cfg: Config, ca: testca.Identity) -> None:
    key = certificates.key_path(cfg.globus_path)
    os.chmod(key, 0o600)
    key.write_bytes(testca.make_user(ca, "Other").key_pem(PASSPHRASE.encode()))
    os.chmod(key, 0o400)


def expire_proxy(cfg: Config, ca: testca.Identity) -> None:
    who = testca.make_user(ca, "Alex Example")
    cfg.proxy_file.write_bytes(testca.make_proxy(
        who, not_after=testca.now() - dt.timedelta(minutes=1)))


def proxy_without_voms(cfg: Config, ca: testca.Identity) -> None:
    cfg.proxy_file.write_bytes(testca.make_proxy(testca.make_user(ca, "A"), group=None))


def weak_proxy(cfg: Config, ca: testca.Identity) -> None:
    cfg.proxy_file.write_bytes(testca.make_proxy(testca.make_user(ca, "A"), bits=1024))


def readable_proxy(cfg: Config, ca: testca.Identity) -> None:
    os.chmod(cfg.proxy_file, 0o644)


def no_proxy(cfg: Config, ca: testca.Identity) -> None:
    cfg.proxy_file.unlink()


FAULTS: dict[str, tuple[Callable[[Config, testca.Identity], None], str, str, str]] = {
    # name: (inject, failing check id, words in the message, words in the fix)
    "no certificate": (remove_cert, "cert.file", "no certificate", "cert.import"),
    "truncated certificate": (truncate_cert, "cert.file", "not a readable PEM", "cert.import"),
    "expired certificate": (expire_cert, "cert.file", "expired on", "renew with your CA"),
    "key 0644 (C04a)": (loosen_key, "cert.key", "mode 0644", "cert.fix-permissions"),
    "empty key (C04c)": (empty_key, "cert.key", "empty key file", "cert.import"),
    "key of another pair (C03)": (swap_key, "cert.pair", "does not belong", "same .p12"),
    "expired proxy": (expire_proxy, "proxy.time", "proxy expired", "proxy.init"),
    "proxy without VOMS (C08b)": (proxy_without_voms, "proxy.group", "no VOMS attribute for "
                                  "group belle: check VO membership / vomses", "proxy.init"),
    "1024-bit proxy": (weak_proxy, "proxy.strength", "1024-bit", "proxy.init"),
    "proxy 0644 (C07)": (readable_proxy, "proxy.file", "mode 0644", "chmod 600"),
    "no proxy": (no_proxy, "proxy.file", "no proxy at", "proxy.init"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_injected_fault_gives_exactly_one_failing_line_with_its_fix(
        cfg: Config, test_ca: testca.Identity, fault: str) -> None:
    inject, check_id, words, fix = FAULTS[fault]
    inject(cfg, test_ca)
    bad = checks.failed(host_checks(cfg))
    assert [c.id for c in bad] == [check_id]
    assert words in bad[0].message
    assert fix in (bad[0].fix or "")


def test_c04d_open_globus_dir_is_a_warning(cfg: Config) -> None:
    os.chmod(cfg.globus_path, 0o777)
    results = host_checks(cfg)
    assert checks.failed(results) == []
    (warn,) = [c for c in results if c.status == "warn"]
    assert warn.id == "cert.dir" and "0777" in warn.message and "fix-permissions" in warn.fix


def test_c05_certificate_with_days_left_is_a_warning_with_utc_expiry(
        cfg: Config, test_ca: testca.Identity) -> None:
    short = testca.make_user(test_ca, "Alex Example",
                             not_after=testca.now() + dt.timedelta(days=3))
    certificates.cert_path(cfg.globus_path).write_bytes(short.cert_pem)
    first = checks.credential_checks(cfg, None)[0]
    assert first.status == "warn" and "UTC" in first.message and "days left" in first.message


def test_c11_key_owned_by_another_uid_than_the_container_uid(
        cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = certificates.key_path(cfg.globus_path).stat().st_uid
    monkeypatch.setattr(checks.os, "getuid", lambda: owner + 1000)
    bad = checks.failed(host_checks(cfg))
    assert [c.id for c in bad] == ["cert.key"]
    assert f"owned by uid {owner}, process uid {owner + 1000}" in bad[0].message


def test_run_checks_without_engine_skips_image_and_container(
        cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "engine_check", lambda: checks.Check(
        "engine", "Docker engine", "fail", "Docker is not running", "start Docker"))
    results = checks.run_checks(cfg, passphrase=PASSPHRASE)
    assert [c.id for c in checks.failed(results)] == ["engine"]
    status = {c.id: c.status for c in results}
    assert status["image"] == "skip" and status["container"] == "skip"


def test_json_form_is_the_documented_one(cfg: Config) -> None:
    results = host_checks(cfg)
    results[1] = checks.Check("cert.key", "private key file", "fail", "bad", "fix it", ["e"])
    data = json.loads(json.dumps(checks.as_json(results)))
    assert data["schema"] == "b2env-doctor/1"
    assert data["ok"] is False
    assert data["counts"] == {"ok": 8, "warn": 0, "fail": 1, "skip": 0}
    assert set(data["checks"][1]) == {"id", "name", "status", "message", "fix", "evidence"}
    assert data["checks"][1]["evidence"] == ["e"]


def test_lines_show_fix_only_for_warn_and_fail() -> None:
    good = checks.Check("a", "A", "ok", "fine")
    bad = checks.Check("b", "B", "fail", "broken", "do this", ["line 1"])
    assert checks.lines(good) == ["[ ok ] A: fine"]
    assert checks.lines(bad) == ["[fail] B: broken", "         line 1", "         fix: do this"]


# -- the probe, on the host, with a fake tree ---------------------------------------------------
def helper(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


@pytest.fixture
def fake_tree(tmp_path: Path, test_ca: testca.Identity) -> dict[str, Path]:
    root, libexec = tmp_path / "cvmfs", tmp_path / "libexec"
    (root / "belle.cern.ch/el9/releases/release-08-00-00").mkdir(parents=True)
    (root / "belle.kek.jp/grid/gbasf2/pro").mkdir(parents=True)
    (root / "belle.kek.jp/grid/gbasf2/pro/bashrc").write_text("true\n")
    security = root / "grid.cern.ch/etc/grid-security"
    testca.write_ca_dir(test_ca, security / "certificates")
    (security / "vomses").mkdir()
    (security / "vomses/belle").write_text('"belle" "voms.example" "15020" "/DC=x" "belle"\n')
    (security / "vomsdir/belle").mkdir(parents=True)
    (security / "vomsdir/belle/voms.example.lsc").write_text("/DC=x\n/DC=ca\n")
    libexec.mkdir()
    helper(libexec / "with-basf2", 'shift 2; [ "$1" = basf2 ] && echo "basf2 release-08-00-00" '
           '&& exit 0; exec "$@"')
    helper(libexec / "with-gbasf2", 'while [ "$1" != -- ]; do shift; done; shift; '
           '[ "$1" = gb2_proxy_info ] && exit 0; echo "ran $*"')
    key = tmp_path / "userkey.pem"
    key.write_text("key")
    return {"root": root, "libexec": libexec, "security": security, "key": key}


def probe(tree: dict[str, Path], **changes: object) -> dict[str, dict[str, object]]:
    request = {"os": "el9", "release": "release-08-00-00", "group": "belle", "setup": "",
               "cvmfs": True, "key": str(tree["key"]), "proxy": False, "mock_url": "",
               "libexec": str(tree["libexec"]), "root": str(tree["root"])} | changes
    security = tree["security"]
    env = os.environ | {"X509_CERT_DIR": str(security / "certificates"),
                        "X509_VOMSES": str(security / "vomses"),
                        "X509_VOMS_DIR": str(security / "vomsdir")}
    done = subprocess.run([sys.executable, "-c", checks.PROBE, json.dumps(request)],
                          capture_output=True, text=True, env=env, timeout=120, check=True)
    return {line["id"]: line for line in map(json.loads, done.stdout.splitlines())}


def statuses(found: dict[str, dict[str, object]]) -> dict[str, object]:
    return {k: v["status"] for k, v in found.items()}


def test_probe_all_ok_on_a_complete_tree(fake_tree: dict[str, Path]) -> None:
    found = probe(fake_tree)
    assert statuses(found) == {
        "cvmfs.tree": "ok", "basf2.release": "ok", "basf2.b2setup": "ok", "basf2.version": "ok",
        "gbasf2.setup": "ok", "gbasf2.commands": "ok", "grid.security": "ok",
        "container.key": "ok", "grid": "skip"}
    assert found["gbasf2.setup"]["message"].endswith("pro/bashrc")  # type: ignore[union-attr]


def test_probe_missing_release_fails_once_and_skips_followers(
        fake_tree: dict[str, Path]) -> None:
    found = probe(fake_tree, release="release-09-00-00")
    assert [k for k, v in statuses(found).items() if v == "fail"] == ["basf2.release"]
    assert "available: release-08-00-00" in found["basf2.release"]["evidence"]  # type: ignore[operator]
    assert statuses(found)["basf2.version"] == "skip"


def test_probe_os_without_tree(fake_tree: dict[str, Path]) -> None:
    found = probe(fake_tree, os="debian12")
    assert [k for k, v in statuses(found).items() if v == "fail"] == ["cvmfs.tree"]


def test_probe_no_gbasf2_setup_lists_the_paths_tried(fake_tree: dict[str, Path]) -> None:
    (fake_tree["root"] / "belle.kek.jp/grid/gbasf2/pro/bashrc").unlink()
    found = probe(fake_tree)
    assert [k for k, v in statuses(found).items() if v == "fail"] == ["gbasf2.setup"]
    tried = found["gbasf2.setup"]["evidence"]
    assert isinstance(tried, list) and len(tried) == 2
    assert tried[0].endswith("pro/bashrc") and tried[1].endswith("production/bashrc")


def test_probe_configured_setup_override_is_named(fake_tree: dict[str, Path]) -> None:
    found = probe(fake_tree, setup="/opt/gbasf2/bashrc")
    assert found["gbasf2.setup"]["evidence"] == ["tried: /opt/gbasf2/bashrc"]


@pytest.mark.parametrize("remove", ["certificates", "vomses", "vomsdir", "all"])
def test_c09_missing_grid_security_is_one_failing_line_naming_paths(
        fake_tree: dict[str, Path], remove: str) -> None:
    import shutil

    security = fake_tree["security"]
    for name in (["certificates", "vomses", "vomsdir"] if remove == "all" else [remove]):
        shutil.rmtree(security / name)
    found = probe(fake_tree)
    assert [k for k, v in statuses(found).items() if v == "fail"] == ["grid.security"]
    message = str(found["grid.security"]["message"])
    for name in (["certificates", "vomses", "vomsdir"] if remove == "all" else [remove]):
        assert str(security / name) in message


def test_probe_unreadable_key(fake_tree: dict[str, Path]) -> None:
    found = probe(fake_tree, key=str(fake_tree["key"].parent / "nokey.pem"))
    assert [k for k, v in statuses(found).items() if v == "fail"] == ["container.key"]
    assert "not readable as uid" in str(found["container.key"]["message"])


def test_probe_without_cvmfs_skips_everything_cvmfs(fake_tree: dict[str, Path]) -> None:
    found = probe(fake_tree, cvmfs=False)
    assert [k for k, v in statuses(found).items() if v != "skip"] == ["container.key"]


def test_missing_mock_cvmfs_is_one_failing_line_and_the_probe_runs_without_cvmfs(
        cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from b2env import container, engine, images, runner
    from b2env.errors import ImageError

    def no_stand_in(c: Config) -> Path:
        raise ImageError("the mock CVMFS stand-in is not available", fix="update b2env")

    started: list[Config] = []

    def run_spec(c: Config, argv: list[str], **kw: object) -> str:
        started.append(c)
        return "spec"

    def execute(spec: str, **kw: object) -> runner.Completed:
        line = {"id": "container.key", "name": "key", "status": "ok", "message": "readable",
                "fix": None, "evidence": []}
        return runner.Completed([], 0, json.dumps(line) + "\n", "")

    mock_cfg = cfg.with_overrides(cvmfs_mode="mock")
    monkeypatch.setattr(container, "staged_mock_cvmfs", no_stand_in)
    monkeypatch.setattr(container, "run_spec", run_spec)
    monkeypatch.setattr(container, "execute", execute)
    monkeypatch.setattr(checks, "engine_check", lambda: checks.ok("engine", "Docker", "up"))
    monkeypatch.setattr(checks, "image_check", lambda c: checks.ok("image", "image", "there"))
    monkeypatch.setattr(images, "planned_tag", lambda c: "b2env/test:unit")
    monkeypatch.setattr(engine, "labels", lambda *a, **k: {})
    results = checks.run_checks(mock_cfg, passphrase=PASSPHRASE)
    assert [c.id for c in checks.failed(results)] == ["cvmfs"]
    assert started[0].cvmfs_mode == "none"
    assert results[-1].id == "container.key" and results[-1].status == "ok"


def test_probe_grid_answering_with_a_proxy(fake_tree: dict[str, Path]) -> None:
    found = probe(fake_tree, proxy=True)
    assert found["grid"]["status"] == "ok"


def test_probe_grid_error_line_fails_with_its_fix(fake_tree: dict[str, Path]) -> None:
    helper(fake_tree["libexec"] / "with-gbasf2", 'while [ "$1" != -- ]; do shift; done; shift; '
           '[ "$1" = gb2_proxy_info ] && exit 0; echo "Error: SSL handshake with the grid '
           'failed ([SSL: CERTIFICATE_VERIFY_FAILED])"; exit 0')
    found = probe(fake_tree, proxy=True, mock_url="https://mock-grid:8443")
    assert [k for k, v in statuses(found).items() if v == "fail"] == ["grid"]
    assert "X509_CERT_DIR" in str(found["grid"]["fix"])


def test_probe_mock_grid_not_answering(fake_tree: dict[str, Path]) -> None:
    found = probe(fake_tree, mock_url="https://127.0.0.1:9")
    assert found["grid"]["status"] == "fail"
    assert found["grid"]["fix"] == "start the mock grid: inv mock.up"
