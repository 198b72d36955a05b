"""The user's grid certificate and key: importing a .p12, and the checks grid tools apply.

``~/.globus/usercert.pem`` (0644) and ``userkey.pem`` (0400, always encrypted) are what the gbasf2
client reads. The key-file rules are the ones the Globus GSI library enforces (owned by the
effective uid, no execute bit, no group or other bits, not empty, a regular file), so a key that
passes here is a key the real tools accept. All times are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from b2env.errors import CredentialError

log = logging.getLogger(__name__)

UTC = dt.timezone.utc
CERT_NAME, KEY_NAME = "usercert.pem", "userkey.pem"
CERT_MODE, KEY_MODE, GLOBUS_MODE = 0o644, 0o400, 0o700
WARN_DAYS = 30
#: PBE algorithm OIDs (DER bytes) that may appear in a .p12, for the debug log.
P12_ALGORITHMS = {
    bytes.fromhex("2a864886f70d010c0106"): "pbeWithSHAAnd40BitRC2-CBC (legacy RC2-40)",
    bytes.fromhex("2a864886f70d010c0103"): "pbeWithSHAAnd3-KeyTripleDES-CBC (legacy 3DES)",
    bytes.fromhex("2a864886f70d01050d"): "PBES2 (modern, e.g. AES-256-CBC)",
}


def cert_path(globus: Path) -> Path:
    return globus / CERT_NAME


def key_path(globus: Path) -> Path:
    return globus / KEY_NAME


def now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def as_bytes(secret: str | bytes | None) -> bytes | None:
    return secret.encode() if isinstance(secret, str) else secret


def dn(name: x509.Name) -> str:
    """The ``/DC=org/DC=.../CN=...`` form users register with the collaboration."""
    return "".join(f"/{attr.rfc4514_string()}" for attr in name)


def fingerprint(public_key: CertificatePublicKeyTypes) -> str:
    """SHA-256 of the SubjectPublicKeyInfo, ``ab:cd:...`` (first 16 bytes)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return ":".join(f"{b:02x}" for b in hashlib.sha256(der).digest()[:16])


# -- reading the certificate and key -------------------------------------------------------------
def load_certificate(path: Path) -> x509.Certificate:
    """The certificate at ``path``; missing, empty and truncated PEM files are named as such."""
    if not path.is_file():
        raise CredentialError(
            f"no certificate at {path}", fix="import your grid certificate: inv cert.import --p12 FILE"
        )
    data = path.read_bytes()
    if not data.strip():
        raise CredentialError(f"empty certificate file {path}", fix="re-import: inv cert.import")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        why = "the PEM block is truncated" if b"-----END" not in data else str(exc)
        raise CredentialError(
            f"{path} is not a readable PEM certificate", why=why,
            fix="re-import it from your .p12: inv cert.import --p12 FILE --force",
        ) from None


def key_is_encrypted(data: bytes) -> bool:
    """PKCS#8 ``ENCRYPTED PRIVATE KEY`` or traditional ``Proc-Type: 4,ENCRYPTED``."""
    return b"ENCRYPTED" in data


def load_key(path: Path, passphrase: str | bytes | None = None) -> rsa.RSAPrivateKey:
    """The RSA key at ``path``, PKCS#8 or traditional PEM, encrypted or not."""
    data = path.read_bytes()
    if not data.strip():
        raise CredentialError(f"empty key file {path}", fix="re-import: inv cert.import --force")
    if key_is_encrypted(data) and not passphrase:
        raise CredentialError(f"{path} is encrypted and no passphrase was given",
                              fix="enter the key passphrase when asked (or --pass-stdin)")
    try:
        key = serialization.load_pem_private_key(
            data, password=as_bytes(passphrase) if key_is_encrypted(data) else None
        )
    except (ValueError, TypeError) as exc:
        if key_is_encrypted(data) and b"-----END" in data:
            raise WrongPassphrase(f"wrong passphrase for the key {path}",
                                  fix="enter the passphrase you chose at import") from None
        raise CredentialError(f"{path} is not a readable PEM private key", why=str(exc),
                              fix="re-import: inv cert.import --p12 FILE --force") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialError(f"{path} is not an RSA key", fix="grid certificates use RSA keys")
    return key


class WrongPassphrase(CredentialError):
    """A passphrase (of a .p12 or of the key) did not open the file."""


# -- file rules ------------------------------------------------------------------------------------
def check_key_file(path: Path, uid: int | None = None) -> None:
    """The Globus key-file rules, in their order; raise naming the file, its mode and the fix."""
    uid = os.geteuid() if uid is None else uid
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CredentialError(f"no private key at {path}",
                              fix="import your certificate: inv cert.import --p12 FILE") from None
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISDIR(info.st_mode):
        raise CredentialError(f"{path} is a directory, not a key file", fix=f"remove {path}")
    if info.st_uid != uid:
        raise CredentialError(
            f"key {path} is owned by uid {info.st_uid}, process uid {uid}; the owner must match",
            why="grid tools refuse a key owned by another user (e.g. in a container run as root)",
            fix="run the container as your own uid (b2env does) or chown the key to that user",
        )
    if mode & (stat.S_IXUSR | 0o077):
        raise CredentialError(
            f"key {path} has mode {mode:04o}; the most allowed is 0600 (no execute, no group or "
            "other bits)",
            why="a key readable by others may already have been copied",
            fix="inv cert.fix-permissions  (sets 0400)",
        )
    if info.st_size == 0:
        raise CredentialError(f"empty key file {path}, re-import",
                              fix="inv cert.import --p12 FILE --force")


def globus_dir_warning(globus: Path) -> str | None:
    """A warning when ``~/.globus`` lets group or other users in (it should be 0700)."""
    mode = stat.S_IMODE(globus.stat().st_mode)
    if mode & 0o077:
        return f"{globus} has mode {mode:04o}; it should be 0700"
    return None


def cert_file_warning(path: Path) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022 or mode & 0o111:
        return f"certificate {path} has mode {mode:04o}; it should be 0644 or 0444"
    return None


def fix_permissions(globus: Path) -> list[str]:
    """Set 0700 / 0644 / 0400 and read each mode back; return what changed."""
    changed = []
    for path, mode in ((globus, GLOBUS_MODE), (cert_path(globus), CERT_MODE),
                       (key_path(globus), KEY_MODE)):
        if path.exists() and stat.S_IMODE(path.stat().st_mode) != mode:
            set_mode(path, mode)
            changed.append(f"{path}: {mode:04o}")
    return changed


def set_mode(path: Path, mode: int) -> None:
    """chmod and read the mode back: some file systems (Windows drives under WSL) ignore it."""
    os.chmod(path, mode)
    found = stat.S_IMODE(os.stat(path).st_mode)
    if found != mode:
        raise CredentialError(
            f"chmod {mode:04o} did not take on {path} (mode is still {found:04o})",
            why="the file system ignores Unix permissions (e.g. a Windows drive under WSL)",
            fix="keep ~/.globus on a Linux file system (or mount the drive with 'metadata')",
        )


# -- what a certificate says -------------------------------------------------------------------
def check_validity(cert: x509.Certificate, at: dt.datetime | None = None) -> str | None:
    """Raise when expired or not yet valid; a warning under 30 days left; None when fine."""
    at = at or now()
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if at < start:
        raise CredentialError(
            f"certificate not valid yet: it starts {start:%Y-%m-%d %H:%M:%S} UTC, "
            f"the clock says {at:%Y-%m-%d %H:%M:%S} UTC",
            why="the system clock or time zone is wrong, or the certificate was just issued",
            fix="check the clock and time zone (timedatectl), or wait until it starts",
        )
    if at >= end:
        raise CredentialError(
            f"certificate expired on {end:%Y-%m-%d %H:%M:%S} UTC",
            fix="renew with your CA, then inv cert.import --p12 NEW.p12 --force",
        )
    days = (end - at).days
    if days < WARN_DAYS:
        return f"certificate expires {end:%Y-%m-%d %H:%M:%S} UTC ({days} days left)"
    return None


def check_pair(cert: x509.Certificate, key: rsa.RSAPrivateKey, cert_file: Path,
               key_file: Path) -> None:
    """Raise when the private key does not belong to the certificate."""
    cert_fp, key_fp = fingerprint(cert.public_key()), fingerprint(key.public_key())
    if cert_fp != key_fp:
        raise CredentialError(
            "private key does not belong to this certificate",
            evidence=[f"certificate {cert_file}: public key {cert_fp}",
                      f"key         {key_file}: public key {key_fp}"],
            fix="re-import both from the same .p12: inv cert.import --p12 FILE --force",
        )


@dataclass(frozen=True)
class CertificateFacts:
    subject: str
    issuer: str
    not_before: str
    not_after: str
    days_left: int
    key_bits: int
    signature_hash: str
    fingerprint: str
    warnings: list[str] = field(default_factory=list)


def describe(cert: x509.Certificate, at: dt.datetime | None = None) -> CertificateFacts:
    at = at or now()
    key = cert.public_key()
    return CertificateFacts(
        subject=dn(cert.subject),
        issuer=dn(cert.issuer),
        not_before=f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC",
        not_after=f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC",
        days_left=(cert.not_valid_after_utc - at).days,
        key_bits=getattr(key, "key_size", 0),
        signature_hash=signature_hash(cert),
        fingerprint=fingerprint(key),
    )


# -- .p12 import -------------------------------------------------------------------------------
def looks_like_pkcs12(data: bytes) -> bool:
    """A DER SEQUENCE whose first element is INTEGER 3 (the PFX version)."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    i = 2 + (data[1] & 0x7F if data[1] & 0x80 else 0)
    return data[i : i + 3] == b"\x02\x01\x03"


def p12_algorithms(data: bytes) -> list[str]:
    return [label for oid, label in P12_ALGORITHMS.items() if oid in data]


def read_p12(path: Path, password: str | bytes | None
             ) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """Key and certificate from a modern, legacy (RC2-40 / 3DES) or password-less .p12."""
    data = path.read_bytes()
    if not looks_like_pkcs12(data):
        raise CredentialError(f"{path} is not a PKCS#12 (.p12) file",
                              fix="export your certificate from the browser as .p12 / .pfx")
    log.debug("%s uses %s", path, ", ".join(p12_algorithms(data)) or "no known PBE")
    tries = [as_bytes(password)] if password else [None, b""]
    for attempt in tries:
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(data, attempt)
        except UnsupportedAlgorithm as exc:
            raise _legacy_error(path, str(exc)) from None
        except ValueError as exc:
            if "unsupported" in str(exc).lower() or "RC2" in str(exc):
                raise _legacy_error(path, str(exc)) from None
            continue
        if not isinstance(key, rsa.RSAPrivateKey) or cert is None:
            raise CredentialError(f"{path} holds no RSA key and certificate pair",
                                  fix="export the certificate together with its private key")
        return key, cert
    raise WrongPassphrase(f"wrong .p12 password for {path}",
                          fix="enter the password you set when exporting the .p12")


def _legacy_error(path: Path, detail: str) -> CredentialError:
    return CredentialError(
        f"{path} uses legacy RC2-40 / 3DES encryption that this OpenSSL build cannot read",
        why=detail,
        fix="re-export it with AES-256 (openssl pkcs12 -legacy -in old.p12 -nodes | "
        "openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC), then import again",
    )


@dataclass(frozen=True)
class ImportResult:
    cert: Path
    key: Path
    subject: str
    backups: list[Path]


def import_p12(p12: Path, globus: Path, *, p12_password: str | bytes | None,
               key_passphrase: str | bytes, force: bool = False) -> ImportResult:
    """Write usercert.pem (0644) and an encrypted userkey.pem (0400) into ``globus`` (0700)."""
    passphrase = as_bytes(key_passphrase)
    if not passphrase:
        raise CredentialError("the new key passphrase is empty",
                              fix="choose a passphrase: the key is never stored unencrypted")
    key, cert = read_p12(Path(p12), p12_password)
    check_validity(cert)
    targets = (cert_path(globus), key_path(globus))
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise CredentialError(f"{', '.join(map(str, existing))} already exist(s)",
                              fix="pass --force to replace them (a dated backup is kept)")
    ensure_globus_dir(globus)
    backups = [backup(p) for p in existing]
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(passphrase))
    write_atomic(targets[0], cert.public_bytes(serialization.Encoding.PEM), CERT_MODE)
    write_atomic(targets[1], key_pem, KEY_MODE)
    return ImportResult(targets[0], targets[1], dn(cert.subject), backups)


def ensure_globus_dir(globus: Path) -> None:
    globus.mkdir(parents=True, exist_ok=True, mode=GLOBUS_MODE)
    set_mode(globus, GLOBUS_MODE)


def backup(path: Path) -> Path:
    stamp = dt.datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{stamp}.bak")
    os.replace(path, target)
    log.info("kept a backup of %s as %s", path, target.name)
    return target


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write to a 0600 temporary file in the same directory, set ``mode``, rename over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        set_mode(Path(tmp), mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def signature_hash(cert: x509.Certificate) -> str:
    algorithm = cert.signature_hash_algorithm
    return algorithm.name if isinstance(algorithm, hashes.HashAlgorithm) else "none"
