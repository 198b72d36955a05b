"""Credentials on the real engine: import, check and the doctor through the ``b2env`` command,
the doctor's JSON consumed, faults injected, the key seen from a container as another uid (C11),
and proxy init / info through the gbasf2 client tools of the mock grid."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from b2env import certificates, checks, container, testca
from b2env.config import Config

KEY_PASSPHRASE = "integration key passphrase"
pytestmark = pytest.mark.integration


@dataclasses.dataclass
class Site:
    root: Path
    env: dict[str, str]
    user: testca.TestUser

    def b2env(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """The ``b2env`` command in its own session, without a terminal (as in CI, C08c)."""
        return subprocess.run([sys.executable, "-m", "b2env.cli", *args], input=stdin,
                              capture_output=True, text=True, env=self.env,
                              cwd=self.root / "work", timeout=900, start_new_session=True)

    @property
    def globus(self) -> Path:
        return self.root / "home" / ".globus"

    def config(self) -> Config:
        return Config(os="debian12", cvmfs_mode=self.env["B2ENV_CVMFS_MODE"],  # type: ignore[arg-type]
                      state_dir=self.env["B2ENV_STATE_DIR"], globus_dir=str(self.globus),
                      proxy_path=self.env["B2ENV_PROXY_PATH"], workdir=str(self.root / "work"))


def make_site(root: Path, cvmfs_mode: str) -> Site:
    for name in ("home", "work", "proxy", "state"):
        (root / name).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("B2ENV_", "X509_")) or k == "B2ENV_KEEP_CONTAINERS"}
    env |= {"HOME": str(root / "home"), "B2ENV_STATE_DIR": str(root / "state"),
            "B2ENV_OS": "debian12", "B2ENV_CVMFS_MODE": cvmfs_mode,
            "B2ENV_GLOBUS_DIR": str(root / "home" / ".globus"),
            "B2ENV_PROXY_PATH": str(root / "proxy" / "x509up")}
    user = testca.ensure_user(root / "state", "aexample", "Alex Example")
    return Site(root, env, user)


def import_identity(site: Site) -> None:
    done = site.b2env("cert.import", "--p12", str(site.user.p12), "--pass-stdin",
                      stdin=f"{site.user.password}\n{KEY_PASSPHRASE}\n")
    assert done.returncode == 0, done.stderr
    assert "imported /DC=org/DC=b2env-test/OU=Users/CN=Alex Example" in done.stdout


def doctor(site: Site, *flags: str) -> tuple[int, dict[str, object]]:
    done = site.b2env("verify", "--json", "--pass-stdin", *flags, stdin=KEY_PASSPHRASE + "\n")
    return done.returncode, json.loads(done.stdout)


def by_id(report: dict[str, object]) -> dict[str, dict[str, object]]:
    return {c["id"]: c for c in report["checks"]}  # type: ignore[attr-defined,index]


@pytest.fixture
def bare_site(tmp_path: Path, user_image: str) -> Site:
    """No CVMFS: the host checks plus the in-container key check, in seconds."""
    site = make_site(tmp_path, "none")
    import_identity(site)
    return site


def test_import_check_and_doctor_json_on_the_engine(bare_site: Site) -> None:
    assert bare_site.b2env("cert.check", "--pass-stdin", stdin=KEY_PASSPHRASE + "\n"
                           ).returncode == 0
    assert bare_site.b2env("cert.dn").stdout.strip() == bare_site.user.dn
    code, report = doctor(bare_site, "--no-proxy")
    assert code == 0 and report["schema"] == "b2env-doctor/1" and report["ok"] is True
    found = by_id(report)
    for check_id in ("engine", "cert.file", "cert.key", "cert.pair", "cert.dir",
                     "cert.strength", "container.key"):
        assert found[check_id]["status"] == "ok", found[check_id]
    assert found["cvmfs"]["status"] == "warn" and found["cvmfs"]["fix"]
    assert "proxy.file" not in found


@pytest.mark.parametrize("fault, check_id", [
    ("key 0644", "cert.key"), ("key of another pair", "cert.pair"), ("no proxy", "proxy.file"),
])
def test_injected_fault_gives_one_failing_line_in_the_json(bare_site: Site, fault: str,
                                                          check_id: str) -> None:
    key = certificates.key_path(bare_site.globus)
    if fault == "key 0644":
        key.chmod(0o644)
    elif fault == "key of another pair":
        other = testca.make_user(testca.ensure_ca(bare_site.root / "state"), "Alex Example")
        key.chmod(0o600)
        key.write_bytes(other.key_pem(KEY_PASSPHRASE.encode()))
        key.chmod(0o400)
    code, report = doctor(bare_site, *(() if fault == "no proxy" else ("--no-proxy",)))
    failing = [c for c in report["checks"] if c["status"] == "fail"]  # type: ignore[attr-defined]
    assert code == 1 and report["ok"] is False
    assert [c["id"] for c in failing] == [check_id]
    assert failing[0]["fix"]


def test_c11_key_unreadable_for_a_container_running_as_another_uid(
        bare_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run_spec = container.run_spec

    def as_other_uid(*args: object, **kwargs: object) -> container.RunSpec:
        spec = real_run_spec(*args, **kwargs)  # type: ignore[arg-type]
        return dataclasses.replace(spec, user="2000:2000")

    monkeypatch.setattr(container, "run_spec", as_other_uid)
    monkeypatch.setenv("HOME", str(bare_site.root / "home"))
    results = checks.container_checks(bare_site.config(), key_ok=True, proxy_ok=False,
                                      cvmfs_ok=False)
    key_check = {c.id: c for c in results}["container.key"]
    assert key_check.status == "fail"
    assert "not readable as uid 2000" in key_check.message
    assert "your uid" in (key_check.fix or "")


# -- C09: grid-security files seen from the container -------------------------------------------
def stage_grid_security(root: Path, ca: testca.Identity, parts: tuple[str, ...]) -> Path:
    """A small /cvmfs with only the grid-security parts named (the rest absent)."""
    security = root / "grid.cern.ch" / "etc" / "grid-security"
    if "certificates" in parts:
        testca.write_ca_dir(ca, security / "certificates")
    if "vomses" in parts:
        (security / "vomses").mkdir(parents=True)
        (security / "vomses" / "belle").write_text(
            '"belle" "voms.b2env-test" "15020" "/DC=org/DC=b2env-test/CN=voms" "belle"\n')
    if "vomsdir" in parts:
        (security / "vomsdir" / "belle").mkdir(parents=True)
        (security / "vomsdir" / "belle" / "voms.lsc").write_text("/DC=org/CN=voms\n/DC=org/CN=ca\n")
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.mark.parametrize("parts, missing", [
    (("certificates", "vomses", "vomsdir"), ()),
    (("certificates",), ("vomses", "vomsdir")),
    ((), ("certificates", "vomses", "vomsdir")),
])
def test_c09_grid_security_checked_inside_the_container(
        bare_site: Site, monkeypatch: pytest.MonkeyPatch, parts: tuple[str, ...],
        missing: tuple[str, ...]) -> None:
    ca = testca.ensure_ca(bare_site.root / "state")
    tree = stage_grid_security(bare_site.root / "cvmfs", ca, parts)
    monkeypatch.setattr(container, "staged_mock_cvmfs", lambda cfg: tree)
    monkeypatch.setenv("HOME", str(bare_site.root / "home"))
    cfg = dataclasses.replace(bare_site.config(), cvmfs_mode="mock", grid_mode="real")
    found = {c.id: c for c in checks.container_checks(cfg, key_ok=True, proxy_ok=False,
                                                      cvmfs_ok=True)}
    security = found["grid.security"]
    if not missing:
        assert security.status == "ok", security
        return
    assert security.status == "fail"
    for name in missing:
        assert f"/cvmfs/grid.cern.ch/etc/grid-security/{name}" in security.message
    assert "cvmfs_mode" in (security.fix or "")


# -- mock CVMFS: the gbasf2 client tools make the proxy ----------------------------------------
@pytest.fixture
def mock_site(tmp_path: Path, user_image: str) -> Site:
    from b2env import mockgrid

    site = make_site(tmp_path, "mock")
    mockgrid.ensure_registry(site.config())
    import_identity(site)
    return site


def test_proxy_init_info_and_doctor_through_the_gbasf2_client_tools(mock_site: Site) -> None:
    done = mock_site.b2env("proxy.init", "--pass-stdin", "--hours", "12",
                           stdin=KEY_PASSPHRASE + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    proxy_file = Path(mock_site.env["B2ENV_PROXY_PATH"])
    assert oct(proxy_file.stat().st_mode & 0o777) == "0o600"
    assert os.listdir(proxy_file.parent) == [proxy_file.name]
    info = json.loads(mock_site.b2env("proxy.info", "--json").stdout)
    assert info["group"] == "belle" and info["key_bits"] >= 2048
    assert info["signature_hash"] == "sha256"
    assert info["identity"] == mock_site.user.dn
    assert info["gb2_proxy_info"]["username"] == "aexample"
    assert 11 * 3600 < info["seconds_left"] <= 12 * 3600
    code, report = doctor(mock_site)
    found = by_id(report)
    for check_id in ("cvmfs", "proxy.file", "proxy.time", "proxy.group", "gbasf2.setup",
                     "gbasf2.commands", "grid.security", "container.key"):
        assert found[check_id]["status"] == "ok", found[check_id]


def test_c08a_wrong_passphrase_on_stdin_is_one_clear_failure(mock_site: Site) -> None:
    done = mock_site.b2env("proxy.init", "--pass-stdin", stdin="not my passphrase\n")
    assert done.returncode == 6
    assert "wrong certificate password (1 try)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not Path(mock_site.env["B2ENV_PROXY_PATH"]).exists()
