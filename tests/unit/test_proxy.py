"""Proxies without Docker: reading and judging proxy files, gb2_proxy_info parsing, and
``init_proxy`` against fake gb2_proxy_init runs (field cases C03, C05, C07, C08)."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from invoke import Context
from invoke.exceptions import Exit

from b2env import certificates, container, proxy, runner, testca
from b2env.config import Config
from b2env.errors import CredentialError, ProxyError
from b2env.tasks import proxy as proxy_tasks

PASSPHRASE = "key passphrase"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_proxy(path: Path, data: bytes, file_mode: int = 0o600) -> Path:
    path.write_bytes(data)
    os.chmod(path, file_mode)
    return path


@pytest.fixture
def user(test_ca: testca.Identity) -> testca.Identity:
    return testca.make_user(test_ca, "Alex Example")


def make_cfg(tmp_path: Path, ca: testca.Identity, who: testca.Identity) -> Config:
    p12 = testca.write_p12(who, ca, tmp_path / "usercred.p12", b"pw")
    certificates.import_p12(p12, tmp_path / "globus", p12_password="pw",
                            key_passphrase=PASSPHRASE)
    (tmp_path / "proxydir").mkdir(exist_ok=True)
    return Config(cvmfs_mode="none", grid_mode="real", image="b2env/test:unit",
                  globus_dir=str(tmp_path / "globus"), workdir=str(tmp_path),
                  proxy_path=str(tmp_path / "proxydir" / "x509up_test"),
                  state_dir=str(tmp_path / "state"))


@pytest.fixture
def cfg(tmp_path: Path, test_ca: testca.Identity, user: testca.Identity) -> Config:
    return make_cfg(tmp_path, test_ca, user)


Fake = Callable[..., runner.Completed]


def fake_tool(who: testca.Identity | None, output: str = "", code: int = 0,
              calls: list[dict[str, object]] | None = None, **proxy_args: object) -> Fake:
    """A stand-in for container.execute running gb2_proxy_init: writes where it is told."""

    def execute(spec: container.RunSpec, *, input: str | None = None, capture: bool = False,
                check: bool = False, timeout: float | None = None) -> runner.Completed:
        if calls is not None:
            calls.append({"argv": list(spec.argv), "env": dict(spec.env), "input": input})
        if who is not None:
            write_proxy(Path(spec.env["X509_USER_PROXY"]),
                        testca.make_proxy(who, **proxy_args))  # type: ignore[arg-type]
        return runner.Completed(list(spec.argv), code, output, "")

    return execute


# -- reading ------------------------------------------------------------------------------------
def test_read_proxy_gives_group_fqan_time_bits_hash(tmp_path: Path,
                                                   user: testca.Identity) -> None:
    path = write_proxy(tmp_path / "x509up", testca.make_proxy(user, hours=12))
    facts = proxy.read_proxy(path)
    assert facts.group == "belle"
    assert facts.fqans == ["/belle/Role=NULL/Capability=NULL"]
    assert facts.identity == "/DC=org/DC=b2env-test/OU=Users/CN=Alex Example"
    assert facts.subject.startswith(facts.identity + "/CN=")
    assert 11 * 3600 < facts.seconds_left <= 12 * 3600
    assert (facts.key_bits, facts.signature_hash, facts.mode) == (2048, "sha256", "0600")
    assert proxy.problems(facts, "belle") == {}


@pytest.mark.parametrize("ok_mode", [0o400, 0o600])
def test_c07_0400_and_0600_are_accepted(tmp_path: Path, user: testca.Identity,
                                        ok_mode: int) -> None:
    path = write_proxy(tmp_path / "x509up", testca.make_proxy(user), ok_mode)
    assert proxy.read_proxy(path).mode == f"{ok_mode:04o}"


@pytest.mark.parametrize("bad_mode", [0o640, 0o604, 0o644, 0o660])
def test_c07_any_group_or_other_bit_is_refused(tmp_path: Path, user: testca.Identity,
                                               bad_mode: int) -> None:
    path = write_proxy(tmp_path / "x509up", testca.make_proxy(user), bad_mode)
    with pytest.raises(ProxyError, match=f"mode {bad_mode:04o}"):
        proxy.read_proxy(path)


def test_proxy_owned_by_another_uid_is_refused(tmp_path: Path, user: testca.Identity) -> None:
    path = write_proxy(tmp_path / "x509up", testca.make_proxy(user))
    with pytest.raises(ProxyError, match="owned by uid"):
        proxy.check_mode(path, uid=path.stat().st_uid + 1)


def test_missing_and_garbage_proxy(tmp_path: Path) -> None:
    with pytest.raises(ProxyError, match="no proxy at"):
        proxy.read_proxy(tmp_path / "none")
    garbage = write_proxy(tmp_path / "x509up", b"-----BEGIN CERTIFICATE-----\nxx\n")
    with pytest.raises(ProxyError, match="not a readable proxy"):
        proxy.read_proxy(garbage)


def test_problems_expired_no_voms_weak(tmp_path: Path, user: testca.Identity) -> None:
    past = testca.now() - dt.timedelta(minutes=1)
    expired = proxy.read_proxy(write_proxy(tmp_path / "a", testca.make_proxy(user,
                                                                             not_after=past)))
    assert list(proxy.problems(expired, "belle")) == ["proxy.time"]
    bare = proxy.read_proxy(write_proxy(tmp_path / "b", testca.make_proxy(user, group=None)))
    assert proxy.problems(bare, "belle")["proxy.group"][0] == (
        "no VOMS attribute for group belle: check VO membership / vomses")
    weak = proxy.read_proxy(write_proxy(tmp_path / "c", testca.make_proxy(user, bits=1024)))
    assert list(proxy.problems(weak, "belle")) == ["proxy.strength"]


def test_parse_proxy_info() -> None:
    text = (
        "subject      : /DC=org/DC=b2env-test/OU=Users/CN=Alex Example/CN=12345\n"
        "issuer       : /DC=org/DC=b2env-test/OU=Users/CN=Alex Example\n"
        "identity     : /DC=org/DC=b2env-test/OU=Users/CN=Alex Example\n"
        "timeleft     : 23:59:41\n"
        "DIRAC group  : belle\n"
        "rfc          : True\n"
        "path         : /tmp/x509up_u1000\n"
        "username     : aexample\n"
        "properties   : NormalUser\n"
        "VOMS         : True\n"
        "VOMS fqan    : ['/belle']\n"
    )
    fields = proxy.parse_proxy_info(text)
    assert fields["username"] == "aexample"
    assert fields["DIRAC group"] == "belle"
    assert fields["VOMS fqan"] == "['/belle']"
    assert proxy.seconds_from(fields["timeleft"]) == 23 * 3600 + 59 * 60 + 41
    assert proxy.seconds_from("125:00:00") == 125 * 3600
    assert proxy.seconds_from("bogus") == 0


# -- init ---------------------------------------------------------------------------------------
def test_init_runs_gb2_proxy_init_with_pwstdin_and_passphrase_only_on_stdin(
        cfg: Config, user: testca.Identity, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(container, "execute", fake_tool(user, "Proxy generated:\n", calls=calls))
    result = proxy.init_proxy(cfg, PASSPHRASE, "belle", 24)
    (call,) = calls
    argv = call["argv"]
    assert isinstance(argv, list)
    assert argv[:2] == [f"{container.LIBEXEC}/with-gbasf2", "--group"]
    tool = argv[argv.index("--") + 1:]
    assert tool == ["gb2_proxy_init", "-g", "belle", "-v", "24:00", "--pwstdin"]
    assert call["input"] == PASSPHRASE + "\n"
    assert not any(PASSPHRASE in str(v) for v in [*argv, *dict(call["env"]).values()])  # type: ignore[call-overload]
    assert result.facts.path == str(cfg.proxy_file)
    assert mode(cfg.proxy_file) == 0o600
    assert os.listdir(cfg.proxy_file.parent) == [cfg.proxy_file.name]


def test_c07_renewal_replaces_a_0400_proxy_by_rename(cfg: Config, user: testca.Identity,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    old = write_proxy(cfg.proxy_file, testca.make_proxy(user, hours=10 / 60), 0o400)
    old_inode = old.stat().st_ino
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(container, "execute", fake_tool(user, calls=calls))
    proxy.init_proxy(cfg, PASSPHRASE, "belle", 24)
    fresh = Path(dict(calls[0]["env"])["X509_USER_PROXY"])  # type: ignore[call-overload]
    assert fresh.parent == cfg.proxy_file.parent and fresh != cfg.proxy_file
    assert mode(cfg.proxy_file) == 0o600
    assert cfg.proxy_file.stat().st_ino != old_inode
    assert proxy.read_proxy(cfg.proxy_file).seconds_left > 23 * 3600


def test_c08a_bad_passphrase_with_exit_0_is_a_wrong_password(
        cfg: Config, user: testca.Identity, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container, "execute", fake_tool(None, "Generating proxy...\nBad "
                                                        "passphrase\n", code=0))
    monkeypatch.setattr(proxy, "preflight", lambda c, p: (user.cert, []))
    with pytest.raises(certificates.WrongPassphrase, match="wrong certificate password"):
        proxy.init_proxy(cfg, "typo", "belle", 24)
    assert not cfg.proxy_file.exists()


def test_c08b_proxy_without_voms_is_refused_and_old_proxy_kept(
        cfg: Config, user: testca.Identity, monkeypatch: pytest.MonkeyPatch) -> None:
    old = write_proxy(cfg.proxy_file, testca.make_proxy(user, hours=1)).read_bytes()
    voms_failed = "Contacting VOMS...\nFailed to contact VOMS\nError: VOMS attribute missing\n"
    monkeypatch.setattr(container, "execute", fake_tool(user, voms_failed, group=None))
    with pytest.raises(ProxyError) as caught:
        proxy.init_proxy(cfg, PASSPHRASE, "belle", 24)
    assert caught.value.what == "no VOMS attribute for group belle: check VO membership / vomses"
    assert "Error: VOMS attribute missing" in caught.value.evidence
    assert cfg.proxy_file.read_bytes() == old
    assert os.listdir(cfg.proxy_file.parent) == [cfg.proxy_file.name]


def test_init_without_any_proxy_written_shows_error_lines(
        cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container, "execute", fake_tool(
        None, "Error: DN /DC=org/CN=x is not registered\n", code=0))
    with pytest.raises(ProxyError, match="wrote no proxy") as caught:
        proxy.init_proxy(cfg, PASSPHRASE, "belle", 24)
    assert caught.value.evidence == ["Error: DN /DC=org/CN=x is not registered"]
    assert "register your DN" in (caught.value.fix or "")


def test_c03_mismatched_key_stops_init_before_any_grid_step(
        tmp_path: Path, test_ca: testca.Identity, cfg: Config,
        monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = certificates.key_path(cfg.globus_path)
    os.chmod(key_file, 0o600)
    key_file.write_bytes(testca.make_user(test_ca, "Alex Example").key_pem(PASSPHRASE.encode()))
    os.chmod(key_file, 0o400)
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(container, "execute", fake_tool(None, calls=calls))
    with pytest.raises(CredentialError, match="private key does not belong"):
        proxy.init_proxy(cfg, PASSPHRASE, "belle", 24)
    assert calls == []


def test_c05_proxy_capped_at_certificate_end_and_said(
        tmp_path: Path, test_ca: testca.Identity, monkeypatch: pytest.MonkeyPatch) -> None:
    short = testca.make_user(test_ca, "Alex Example",
                             not_after=testca.now() + dt.timedelta(days=3))
    cfg = make_cfg(tmp_path, test_ca, short)
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(container, "execute", fake_tool(short, calls=calls, hours=168))
    result = proxy.init_proxy(cfg, PASSPHRASE, "belle", 168)
    argv = calls[0]["argv"]
    assert isinstance(argv, list)
    valid = argv[argv.index("-v") + 1]
    assert valid in ("71:59", "72:00")
    assert any(n.startswith("certificate expires") and ("(2 days left)" in n or
                                                        "(3 days left)" in n)
               for n in result.notes)
    assert any("proxy capped at" in n and "asked 168 h" in n for n in result.notes)


def test_c05_expired_certificate_refuses_init(tmp_path: Path, test_ca: testca.Identity,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    now = testca.now()
    cfg = make_cfg(tmp_path, test_ca, testca.make_user(test_ca, "Alex Example"))
    old = testca.make_user(test_ca, "Alex Example", not_before=now - dt.timedelta(days=400),
                           not_after=now - dt.timedelta(days=1))
    cert_file = certificates.cert_path(cfg.globus_path)
    cert_file.write_bytes(old.cert_pem)
    monkeypatch.setattr(container, "execute", fake_tool(None))
    with pytest.raises(CredentialError, match="certificate expired on .* UTC"):
        proxy.init_proxy(cfg, PASSPHRASE, "belle", 24)


def test_valid_arg_and_cap() -> None:
    assert proxy.valid_arg(24) == "24:00"
    assert proxy.valid_arg(168) == "168:00"
    assert proxy.valid_arg(1.5) == "01:30"


# -- the task: tries ----------------------------------------------------------------------------
class FakeStdin:
    def __init__(self, text: str, tty: bool) -> None:
        self.lines = text.splitlines(keepends=True)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def readline(self) -> str:
        return self.lines.pop(0) if self.lines else ""


def count_tries(monkeypatch: pytest.MonkeyPatch, cfg: Config, *, tty: bool,
                pass_stdin: bool) -> tuple[int, int, int]:
    attempts, prompts = [], []

    def wrong(c: Config, passphrase: str, group: str, hours: float | None) -> None:
        attempts.append(passphrase)
        raise certificates.WrongPassphrase("wrong certificate password")

    monkeypatch.setattr(proxy_tasks.proxy, "init_proxy", wrong)
    monkeypatch.setattr(proxy_tasks.getpass, "getpass", lambda p: prompts.append(p) or "x")
    monkeypatch.setattr(proxy_tasks.sys, "stdin", FakeStdin("one\ntwo\nthree\n", tty))
    monkeypatch.setattr(proxy_tasks, "config", lambda **kw: cfg)
    with pytest.raises(Exit) as caught:
        proxy_tasks.init(Context(), pass_stdin=pass_stdin)
    return len(attempts), len(prompts), caught.value.code


def test_wrong_passphrase_three_tries_on_a_tty(cfg: Config,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert count_tries(monkeypatch, cfg, tty=True, pass_stdin=False) == (3, 3, 6)


def test_wrong_passphrase_one_try_on_stdin_no_loop(cfg: Config,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert count_tries(monkeypatch, cfg, tty=False, pass_stdin=True) == (1, 0, 6)


def test_c08c_no_tty_gives_one_try_and_no_prompt_loop(cfg: Config,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert count_tries(monkeypatch, cfg, tty=False, pass_stdin=False)[0] == 1


# -- cron ---------------------------------------------------------------------------------------
def test_renew_cron_line_and_install(cfg: Config, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "pass"
    line = proxy.renew_cron_line(cfg, "/opt/b2env/bin/b2env", secret)
    assert line.startswith("17 */6 * * * ")
    assert "/opt/b2env/bin/b2env proxy.init --pass-stdin --group belle --hours 24" in line
    assert f"< {secret}" in line and line.endswith(proxy.CRON_MARKER)
    seen: list[tuple[list[str], object]] = []

    def fake_run(argv: list[str], **kw: object) -> runner.Completed:
        seen.append((argv, kw.get("input")))
        old = f"0 * * * * other job\n1 2 * * * old {proxy.CRON_MARKER}\n"
        return runner.Completed(argv, 0, old if argv == ["crontab", "-l"] else "", "")

    monkeypatch.setattr(proxy.runner, "run", fake_run)
    proxy.install_cron_line(line)
    assert seen[1][0] == ["crontab", "-"]
    assert seen[1][1] == f"0 * * * * other job\n{line}\n"
    assert proxy.passphrase_file_problem(secret) is not None
    secret.write_text("x\n")
    os.chmod(secret, 0o644)
    assert "chmod 600" in (proxy.passphrase_file_problem(secret) or "")
    os.chmod(secret, 0o600)
    assert proxy.passphrase_file_problem(secret) is None
