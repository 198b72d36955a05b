"""``inv cert.*``: import a .p12 into ~/.globus, check the certificate and key, print the DN."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Collection

from b2env.errors import CredentialError
from b2env.tasks._common import config, lazy_module, task

if TYPE_CHECKING:
    from b2env import certificates, checks
else:
    certificates = lazy_module("b2env.certificates")
    checks = lazy_module("b2env.checks")

ns = Collection("cert")
TRIES = 3


def stdin_lines(count: int) -> list[str]:
    """The first ``count`` lines of stdin (passphrases for scripts and CI), newline stripped."""
    lines = [sys.stdin.readline().rstrip("\r\n") for _ in range(count)]
    return lines


def ask_new_passphrase() -> str:
    """The new key passphrase, typed twice."""
    first = getpass.getpass("New passphrase for userkey.pem: ")
    if first != getpass.getpass("Repeat the passphrase: "):
        raise CredentialError("the two passphrases differ", fix="run inv cert.import again")
    return first


def read_p12_interactively(p12: Path) -> str | None:
    """The .p12 password: none when the file opens without one, else up to three prompts."""
    try:
        certificates.read_p12(p12, None)
        return None
    except certificates.WrongPassphrase:
        pass
    for attempt in range(1, TRIES + 1):
        password = getpass.getpass(f"Password of {p12.name}: ")
        try:
            certificates.read_p12(p12, password)
            return password
        except certificates.WrongPassphrase as exc:
            if attempt == TRIES:
                raise CredentialError(f"wrong .p12 password ({TRIES} tries)", fix=exc.fix) from None
            print("wrong .p12 password, try again", file=sys.stderr)
    return None


@task(
    name="import",
    help={
        "p12": "the .p12 / .pfx file exported from your browser or CA",
        "force": "replace existing ~/.globus credentials (a dated backup is kept)",
        "pass_stdin": "read the .p12 password, then the new key passphrase, from stdin lines",
        "workdir": "analysis directory (for b2env.yaml)",
    }
)
def import_(c, p12, force=False, pass_stdin=False, workdir=None):
    """Write ~/.globus/usercert.pem (0644) and an encrypted userkey.pem (0400) from a .p12."""
    cfg = config(workdir=workdir)
    path = Path(p12).expanduser()
    if not path.is_file():
        raise CredentialError(f"no file {path}", fix="give the path of your .p12 with --p12")
    if pass_stdin:
        p12_password, passphrase = stdin_lines(2)
    else:
        p12_password, passphrase = read_p12_interactively(path), ask_new_passphrase()
    result = certificates.import_p12(path, cfg.globus_path, p12_password=p12_password or None,
                                     key_passphrase=passphrase, force=force)
    print(f"imported {result.subject}")
    print(f"  {result.cert} (0644)\n  {result.key} (0400, encrypted)")
    for backup in result.backups:
        print(f"  backup: {backup}")


@task(help={"pass_stdin": "read the key passphrase from stdin to compare key and certificate",
            "workdir": "analysis directory (for b2env.yaml)"})
def check(c, pass_stdin=False, workdir=None):
    """Check ~/.globus: files, modes, owner, key/certificate match, validity, key size, hash."""
    cfg = config(workdir=workdir)
    key_file = certificates.key_path(cfg.globus_path)
    passphrase = None
    if pass_stdin:
        passphrase = stdin_lines(1)[0]
    elif sys.stdin.isatty() and key_file.is_file() and \
            certificates.key_is_encrypted(key_file.read_bytes()):
        passphrase = getpass.getpass("Key passphrase (to compare key and certificate): ")
    results = checks.credential_checks(cfg, passphrase)
    for result in results:
        print("\n".join(checks.lines(result)))
    bad = checks.failed(results)
    if bad:
        raise CredentialError(f"{len(bad)} certificate check(s) failed", fix=bad[0].fix)


@task(help={"workdir": "analysis directory (for b2env.yaml)"})
def dn(c, workdir=None):
    """Print the certificate's DN in the /DC=.../CN=... form you register with."""
    cfg = config(workdir=workdir)
    cert = certificates.load_certificate(certificates.cert_path(cfg.globus_path))
    print(certificates.dn(cert.subject))


@task(name="fix-permissions", help={"workdir": "analysis directory (for b2env.yaml)"})
def fix_permissions(c, workdir=None):
    """Set ~/.globus to 0700, usercert.pem to 0644 and userkey.pem to 0400."""
    cfg = config(workdir=workdir)
    if not cfg.globus_path.is_dir():
        raise CredentialError(f"{cfg.globus_path} does not exist",
                              fix="inv cert.import --p12 FILE")
    changed = certificates.fix_permissions(cfg.globus_path)
    print("\n".join(changed) if changed else "modes already right")


ns.add_task(import_, name="import")
ns.add_task(check)
ns.add_task(dn)
ns.add_task(fix_permissions, name="fix-permissions")
