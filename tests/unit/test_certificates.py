"""Certificate import and checks: field cases C01, C03, C04, C05, C11 and the bad inputs of
issue 3 (wrong passwords, not-a-.p12, truncated PEM, PKCS#8 and traditional keys, chmod that
does not take). No Docker."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from b2env import certificates, testca
from b2env.errors import CredentialError

# PEM headers, split so that secret scanners do not mistake this file for a key.
ENCRYPTED_KEY_HEADER = b"-----BEGIN ENCRYPTED " + b"PRIVATE KEY-----"
PLAIN_PKCS8 = b"BEGIN " + b"PRIVATE KEY"
PLAIN_TRADITIONAL = b"BEGIN RSA " + b"PRIVATE KEY"

PASSPHRASE = "new key passphrase"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def user(test_ca: testca.Identity) -> testca.Identity:
    return testca.make_user(test_ca, "Alex Example")


@pytest.fixture
def p12(tmp_path: Path, user: testca.Identity, test_ca: testca.Identity) -> Path:
    return testca.write_p12(user, test_ca, tmp_path / "usercred.p12", b"belle2test")


def import_into(globus: Path, p12: Path, password: str | None = "belle2test", **kw: object):
    return certificates.import_p12(p12, globus, p12_password=password,
                                   key_passphrase=PASSPHRASE, **kw)  # type: ignore[arg-type]


# -- import -------------------------------------------------------------------------------------
def test_import_writes_modes_and_encrypted_key_whatever_the_umask(tmp_path: Path, p12: Path,
                                                                 user: testca.Identity) -> None:
    old = os.umask(0o000)
    try:
        result = import_into(tmp_path / "globus", p12)
    finally:
        os.umask(old)
    globus = tmp_path / "globus"
    assert mode(globus) == 0o700
    assert mode(result.cert) == 0o644
    assert mode(result.key) == 0o400
    key_pem = result.key.read_bytes()
    assert key_pem.startswith(ENCRYPTED_KEY_HEADER)
    key = serialization.load_pem_private_key(key_pem, password=PASSPHRASE.encode())
    assert certificates.fingerprint(key.public_key()) == certificates.fingerprint(
        user.cert.public_key())
    assert result.subject == "/DC=org/DC=b2env-test/OU=Users/CN=Alex Example"
    assert sorted(p.name for p in globus.iterdir()) == ["usercert.pem", "userkey.pem"]


def test_import_never_writes_a_plaintext_key(tmp_path: Path, p12: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[bytes] = []
    real_fdopen = os.fdopen

    def spy(fd: int, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        handle = real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]
        real_write = handle.write
        handle.write = lambda data: written.append(bytes(data)) or real_write(data)
        return handle

    monkeypatch.setattr(certificates.os, "fdopen", spy)
    import_into(tmp_path / "globus", p12)
    assert written, "nothing was written through the temporary file"
    assert not any(PLAIN_PKCS8 in d or PLAIN_TRADITIONAL in d for d in written)


def test_c01_legacy_rc2_40_p12_imports_with_a_modern_cipher(tmp_path: Path,
                                                            user: testca.Identity) -> None:
    legacy = testca.write_legacy_p12(user, tmp_path / "old.p12", "belle2test")
    assert "pbeWithSHAAnd40BitRC2-CBC (legacy RC2-40)" in certificates.p12_algorithms(
        legacy.read_bytes())
    result = import_into(tmp_path / "globus", legacy)
    assert result.key.read_bytes().startswith(ENCRYPTED_KEY_HEADER)
    assert b"RC2" not in result.key.read_bytes()


def test_c01_legacy_wrong_password_is_not_called_unsupported(tmp_path: Path,
                                                             user: testca.Identity) -> None:
    legacy = testca.write_legacy_p12(user, tmp_path / "old.p12", "belle2test")
    with pytest.raises(certificates.WrongPassphrase):
        import_into(tmp_path / "globus", legacy, password="nope")


def test_c01_legacy_unavailable_names_rc2_40_not_wrong_password(
        tmp_path: Path, p12: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise ValueError("unsupported: RC2-40-CBC (legacy provider not loaded)")

    monkeypatch.setattr(certificates.pkcs12, "load_key_and_certificates", refuse)
    with pytest.raises(CredentialError) as caught:
        import_into(tmp_path / "globus", p12)
    assert "RC2-40" in caught.value.what
    assert "wrong" not in str(caught.value).lower()
    assert "-legacy" in (caught.value.fix or "")


def test_p12_without_password_imports(tmp_path: Path, user: testca.Identity,
                                      test_ca: testca.Identity) -> None:
    bare = testca.write_p12(user, test_ca, tmp_path / "bare.p12", None)
    assert import_into(tmp_path / "globus", bare, password=None).key.is_file()


def test_wrong_p12_password(tmp_path: Path, p12: Path) -> None:
    with pytest.raises(certificates.WrongPassphrase, match="wrong .p12 password"):
        import_into(tmp_path / "globus", p12, password="not it")
    assert not (tmp_path / "globus" / "userkey.pem").exists()


def test_not_a_p12(tmp_path: Path, user: testca.Identity) -> None:
    fake = tmp_path / "cert.p12"
    fake.write_bytes(user.cert_pem)
    with pytest.raises(CredentialError, match="not a PKCS#12"):
        import_into(tmp_path / "globus", fake)


def test_refuses_to_overwrite_without_force_and_keeps_a_dated_backup(tmp_path: Path,
                                                                      p12: Path) -> None:
    globus = tmp_path / "globus"
    import_into(globus, p12)
    first = (globus / "usercert.pem").read_bytes()
    with pytest.raises(CredentialError, match="already exist"):
        import_into(globus, p12)
    result = import_into(globus, p12, force=True)
    assert len(result.backups) == 2
    assert result.backups[0].read_bytes() == first
    assert ".bak" in result.backups[1].name and mode(result.backups[1]) == 0o400


def test_empty_new_passphrase_is_refused(tmp_path: Path, p12: Path) -> None:
    with pytest.raises(CredentialError, match="passphrase is empty"):
        certificates.import_p12(p12, tmp_path / "g", p12_password="belle2test",
                                key_passphrase="")


def test_chmod_that_does_not_take_is_detected(tmp_path: Path, p12: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    globus = tmp_path / "globus"
    globus.mkdir(mode=0o777)
    os.chmod(globus, 0o777)
    monkeypatch.setattr(certificates.os, "chmod", lambda *a, **k: None)
    with pytest.raises(CredentialError, match="chmod 0700 did not take") as caught:
        import_into(globus, p12)
    assert "Linux file system" in (caught.value.fix or "")
    assert not (globus / "userkey.pem").exists()


# -- C04: key file rules ----------------------------------------------------------------------
@pytest.fixture
def globus(tmp_path: Path, p12: Path) -> Path:
    import_into(tmp_path / "globus", p12)
    return tmp_path / "globus"


@pytest.mark.parametrize("bad_mode", [0o644, 0o700])
def test_c04_loose_or_executable_key_fails_naming_file_mode_and_fix(globus: Path,
                                                                    bad_mode: int) -> None:
    key = globus / "userkey.pem"
    os.chmod(key, bad_mode)
    with pytest.raises(CredentialError) as caught:
        certificates.check_key_file(key)
    assert str(key) in caught.value.what and f"{bad_mode:04o}" in caught.value.what
    assert "0600" in caught.value.what
    assert "fix-permissions" in (caught.value.fix or "")
    certificates.fix_permissions(globus)
    assert mode(key) == 0o400
    certificates.check_key_file(key)


def test_c04_empty_key(globus: Path) -> None:
    key = globus / "userkey.pem"
    os.chmod(key, 0o600)
    key.write_bytes(b"")
    with pytest.raises(CredentialError, match="empty key file .*re-import"):
        certificates.check_key_file(key)


def test_c04_open_globus_dir_is_a_warning_only(globus: Path) -> None:
    os.chmod(globus, 0o777)
    certificates.check_key_file(globus / "userkey.pem")
    assert "0777" in (certificates.globus_dir_warning(globus) or "")


def test_c11_key_owned_by_another_uid_names_both_uids(globus: Path) -> None:
    key = globus / "userkey.pem"
    other = key.stat().st_uid + 1000
    with pytest.raises(CredentialError) as caught:
        certificates.check_key_file(key, uid=other)
    assert f"owned by uid {key.stat().st_uid}, process uid {other}" in caught.value.what
    assert "owner must match" in caught.value.what


# -- C03: key and certificate from different pairs --------------------------------------------
def test_c03_mismatched_pair_shows_both_fingerprints_and_paths(globus: Path,
                                                               test_ca: testca.Identity) -> None:
    other = testca.make_user(test_ca, "Alex Example")
    key_file, cert_file = globus / "userkey.pem", globus / "usercert.pem"
    os.chmod(key_file, 0o600)
    key_file.write_bytes(other.key_pem(PASSPHRASE.encode()))
    cert = certificates.load_certificate(cert_file)
    key = certificates.load_key(key_file, PASSPHRASE)
    with pytest.raises(CredentialError, match="does not belong to this certificate") as caught:
        certificates.check_pair(cert, key, cert_file, key_file)
    evidence = "\n".join(caught.value.evidence)
    assert str(cert_file) in evidence and str(key_file) in evidence
    assert certificates.fingerprint(cert.public_key()) in evidence
    assert certificates.fingerprint(other.key.public_key()) in evidence


# -- keys in both PEM forms, truncated PEM -------------------------------------------------------
@pytest.mark.parametrize("traditional", [False, True])
@pytest.mark.parametrize("encrypted", [False, True])
def test_pkcs8_and_traditional_keys_are_accepted(tmp_path: Path, user: testca.Identity,
                                                 traditional: bool, encrypted: bool) -> None:
    path = tmp_path / "userkey.pem"
    path.write_bytes(user.key_pem(PASSPHRASE.encode() if encrypted else None,
                                  traditional=traditional))
    assert certificates.key_is_encrypted(path.read_bytes()) is encrypted
    key = certificates.load_key(path, PASSPHRASE if encrypted else None)
    assert key.key_size == 2048


def test_wrong_key_passphrase(tmp_path: Path, user: testca.Identity) -> None:
    path = tmp_path / "userkey.pem"
    path.write_bytes(user.key_pem(PASSPHRASE.encode()))
    with pytest.raises(certificates.WrongPassphrase):
        certificates.load_key(path, "wrong")


def test_truncated_certificate_pem(tmp_path: Path, user: testca.Identity) -> None:
    path = tmp_path / "usercert.pem"
    path.write_bytes(user.cert_pem[: len(user.cert_pem) // 2])
    with pytest.raises(CredentialError, match="not a readable PEM certificate") as caught:
        certificates.load_certificate(path)
    assert caught.value.why == "the PEM block is truncated"


def test_truncated_key_pem(tmp_path: Path, user: testca.Identity) -> None:
    path = tmp_path / "userkey.pem"
    path.write_bytes(user.key_pem()[:300])
    with pytest.raises(CredentialError, match="not a readable PEM private key"):
        certificates.load_key(path)


# -- C05: lifetime, in two time zones ------------------------------------------------------------
def lifetime_outcomes(test_ca: testca.Identity) -> list[str]:
    now = testca.now()
    cases = {
        "3 days": testca.make_user(test_ca, "Alex Example", not_after=now + dt.timedelta(days=3)),
        "expired": testca.make_user(test_ca, "Alex Example",
                                    not_before=now - dt.timedelta(days=400),
                                    not_after=now - dt.timedelta(days=1)),
        "future": testca.make_user(test_ca, "Alex Example", not_before=now + dt.timedelta(hours=2)),
    }
    outcomes = []
    for name, who in cases.items():
        try:
            outcomes.append(f"{name}: warn {certificates.check_validity(who.cert, now)}")
        except CredentialError as exc:
            outcomes.append(f"{name}: fail {exc.what} | {exc.fix}")
    return outcomes


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
def test_c05_lifetime_is_the_same_in_every_time_zone(test_ca: testca.Identity, zone: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        three, expired, future = lifetime_outcomes(test_ca)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert three.startswith("3 days: warn certificate expires ") and "UTC (3 days left)" in three
    assert expired.startswith("expired: fail certificate expired on ") and "UTC" in expired
    assert "renew with your CA" in expired
    assert future.startswith("future: fail certificate not valid yet")
    assert "time zone" in future


def test_c05_outcomes_identical_in_tokyo_and_utc_subprocesses(tmp_path: Path) -> None:
    """Same certificates, two processes, TZ=UTC and TZ=Asia/Tokyo: byte-identical verdicts."""
    state = tmp_path / "state"
    script = (
        "import pathlib, datetime as dt\n"
        "from b2env import testca, certificates\n"
        f"ca = testca.ensure_ca(pathlib.Path({str(state)!r}))\n"
        "now = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.timezone.utc)\n"
        "c = testca.make_user(ca, 'A', not_before=now - dt.timedelta(days=1),"
        " not_after=now + dt.timedelta(days=3, hours=1))\n"
        "print(certificates.check_validity(c.cert, now))\n"
    )
    outputs = {zone: subprocess.run([sys.executable, "-c", script], capture_output=True,
                                    text=True, env=os.environ | {"TZ": zone}, check=True).stdout
               for zone in ("UTC", "Asia/Tokyo")}
    assert outputs["UTC"] == outputs["Asia/Tokyo"]
    assert "2030-01-04 13:00:00 UTC (3 days left)" in outputs["UTC"]


def test_describe_gives_dn_hash_and_bits(user: testca.Identity) -> None:
    facts = certificates.describe(user.cert)
    assert facts.subject == "/DC=org/DC=b2env-test/OU=Users/CN=Alex Example"
    assert facts.issuer == "/DC=org/DC=b2env-test/CN=b2env Test CA"
    assert (facts.key_bits, facts.signature_hash) == (2048, "sha256")
    assert facts.not_after.endswith(" UTC")
