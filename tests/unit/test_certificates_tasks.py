"""``inv cert.*`` task bodies: passphrases from stdin lines or prompts (three tries on a terminal,
one on stdin), exit codes, and fix-permissions. No Docker; HOME is a throw-away directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from invoke import Context
from invoke.exceptions import Exit

from b2env import testca
from b2env.config import Config
from b2env.tasks import cert as cert_tasks


class FakeStdin:
    def __init__(self, text: str, tty: bool = False) -> None:
        self.lines = text.splitlines(keepends=True)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def readline(self) -> str:
        return self.lines.pop(0) if self.lines else ""


@pytest.fixture
def setup(tmp_path: Path, fake_home: Path, test_ca: testca.Identity,
          monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    user = testca.make_user(test_ca, "Alex Example")
    p12 = testca.write_p12(user, test_ca, tmp_path / "usercred.p12", b"p12pass")
    globus = fake_home / ".globus"
    cfg = Config(globus_dir=str(globus), workdir=str(tmp_path))
    monkeypatch.setattr(cert_tasks, "config", lambda **kw: cfg)
    return p12, globus


def test_import_with_pass_stdin_reads_two_lines(setup: tuple[Path, Path],
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    p12, globus = setup
    monkeypatch.setattr(cert_tasks.sys, "stdin", FakeStdin("p12pass\nnew key pass\n"))
    cert_tasks.import_(Context(), p12=str(p12), pass_stdin=True)
    assert "imported /DC=org/DC=b2env-test/OU=Users/CN=Alex Example" in capsys.readouterr().out
    assert stat.S_IMODE((globus / "userkey.pem").stat().st_mode) == 0o400


def test_import_wrong_password_on_stdin_is_one_try_and_exit_5(
        setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    p12, globus = setup
    monkeypatch.setattr(cert_tasks.sys, "stdin", FakeStdin("wrong\nnew key pass\n"))
    with pytest.raises(Exit) as caught:
        cert_tasks.import_(Context(), p12=str(p12), pass_stdin=True)
    assert caught.value.code == 5
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "wrong .p12 password" in err
    assert not globus.exists() or not (globus / "userkey.pem").exists()


def test_import_prompts_three_times_on_a_terminal(setup: tuple[Path, Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    p12, _ = setup
    prompts: list[str] = []
    monkeypatch.setattr(cert_tasks.getpass, "getpass", lambda p: prompts.append(p) or "wrong")
    with pytest.raises(Exit) as caught:
        cert_tasks.import_(Context(), p12=str(p12))
    assert caught.value.code == 5
    assert len(prompts) == 3 and all("usercred.p12" in p for p in prompts)


def test_import_prompt_succeeds_on_second_try_and_asks_the_new_passphrase_twice(
        setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    p12, globus = setup
    answers = iter(["typo", "p12pass", "new key pass", "new key pass"])
    monkeypatch.setattr(cert_tasks.getpass, "getpass", lambda p: next(answers))
    cert_tasks.import_(Context(), p12=str(p12))
    assert (globus / "userkey.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED")


def test_import_new_passphrases_that_differ(setup: tuple[Path, Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    p12, _ = setup
    answers = iter(["p12pass", "one", "two"])
    monkeypatch.setattr(cert_tasks.getpass, "getpass", lambda p: next(answers))
    with pytest.raises(Exit):
        cert_tasks.import_(Context(), p12=str(p12))


def test_check_and_fix_permissions(setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    p12, globus = setup
    monkeypatch.setattr(cert_tasks.sys, "stdin", FakeStdin("p12pass\nkp\n"))
    cert_tasks.import_(Context(), p12=str(p12), pass_stdin=True)
    os.chmod(globus / "userkey.pem", 0o644)
    monkeypatch.setattr(cert_tasks.sys, "stdin", FakeStdin("kp\n"))
    with pytest.raises(Exit) as caught:
        cert_tasks.check(Context(), pass_stdin=True)
    assert caught.value.code == 5
    out = capsys.readouterr().out
    assert "[fail] private key file" in out and "fix: inv cert.fix-permissions" in out
    cert_tasks.fix_permissions(Context())
    assert stat.S_IMODE((globus / "userkey.pem").stat().st_mode) == 0o400
    monkeypatch.setattr(cert_tasks.sys, "stdin", FakeStdin("kp\n"))
    cert_tasks.check(Context(), pass_stdin=True)
    assert "[fail]" not in capsys.readouterr().out
