"""Throw-away test identities: a test CA, user certificates, .p12 files, host certificates
and RFC 3820 proxies, made at test or demo time and never committed.

Everything here is for tests, the demo and the mock grid. Nothing here touches a real
``~/.globus``: callers pass the directory to write into.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from b2env.runner import run

UTC = dt.timezone.utc
#: DIRAC stores the proxy's group in this extension; VOMS attribute certificates in the next.
DIRAC_GROUP_OID = x509.ObjectIdentifier("1.2.42.42")
VOMS_AC_OID = x509.ObjectIdentifier("1.3.6.1.4.1.8005.100.100.5")
PROXY_CERT_INFO_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")
INHERIT_ALL_OID = "1.3.6.1.5.5.7.21.1"

CA_NAME = (("DC", "org"), ("DC", "b2env-test"), ("CN", "b2env Test CA"))


def name(parts: tuple[tuple[str, str], ...]) -> x509.Name:
    oids = {
        "DC": NameOID.DOMAIN_COMPONENT,
        "C": NameOID.COUNTRY_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "CN": NameOID.COMMON_NAME,
    }
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in parts])


def user_name(common_name: str) -> tuple[tuple[str, str], ...]:
    return (("DC", "org"), ("DC", "b2env-test"), ("OU", "Users"), ("CN", common_name))


def new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    """A CA signs certificates and CRLs; users and proxies sign and encipher."""
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False,
        key_encipherment=not signs_certificates, data_encipherment=False, key_agreement=False,
        key_cert_sign=signs_certificates, crl_sign=signs_certificates,
        encipher_only=False, decipher_only=False,
    )


def now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


@dataclass
class Identity:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, passphrase: bytes | None = None, *, traditional: bool = False) -> bytes:
        fmt = (
            serialization.PrivateFormat.TraditionalOpenSSL
            if traditional
            else serialization.PrivateFormat.PKCS8
        )
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self.key.private_bytes(serialization.Encoding.PEM, fmt, enc)


def make_ca(days: int = 3650) -> Identity:
    key = new_key()
    subject = name(CA_NAME)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - dt.timedelta(days=1))
        .not_valid_after(now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage(signs_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return Identity(cert, key)


def make_user(
    ca: Identity,
    common_name: str,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    bits: int = 2048,
    key: rsa.RSAPrivateKey | None = None,
) -> Identity:
    """A user certificate under ``ca``; dates are free so tests can make expired ones."""
    key = key or new_key(bits)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(user_name(common_name)))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now() - dt.timedelta(days=1))
        .not_valid_after(not_after or now() + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(signs_certificates=False), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    return Identity(cert, key)


def make_host(ca: Identity, hostnames: list[str]) -> Identity:
    """A server certificate for the mock grid, valid for ``hostnames`` and loopback."""
    key = new_key()
    alt: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    alt.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name((("DC", "org"), ("DC", "b2env-test"), ("CN", hostnames[0]))))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - dt.timedelta(days=1))
        .not_valid_after(now() + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    return Identity(cert, key)


def write_p12(identity: Identity, ca: Identity, path: Path, password: bytes | None) -> Path:
    """A modern (AES-256) .p12, or an unencrypted one when ``password`` is None."""
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    data = pkcs12.serialize_key_and_certificates(
        b"usercred", identity.key, identity.cert, [ca.cert], enc
    )
    _write_private(path, data)
    return path


def write_legacy_p12(identity: Identity, path: Path, password: str) -> Path:
    """An old-browser style .p12 (RC2-40 certificate bag, 3DES key bag) via ``openssl -legacy``.

    ``cryptography`` cannot write RC2-40, so this uses the openssl command line; the password
    reaches it through a pipe-backed file descriptor, never argv or the environment.
    """
    with tempfile.TemporaryDirectory(prefix="b2env-p12-") as tmp:
        cert = Path(tmp) / "cert.pem"
        key = Path(tmp) / "key.pem"
        cert.write_bytes(identity.cert_pem)
        _write_private(key, identity.key_pem())
        read_fd, write_fd = os.pipe()
        os.write(write_fd, password.encode() + b"\n")
        os.close(write_fd)
        try:
            run(
                [
                    "openssl", "pkcs12", "-export", "-legacy",
                    "-certpbe", "PBE-SHA1-RC2-40", "-keypbe", "PBE-SHA1-3DES",
                    "-in", cert, "-inkey", key, "-out", path, "-passout", f"fd:{read_fd}",
                ],
                env=os.environ | {"OPENSSL_CONF": "/dev/null"},
                pass_fds=(read_fd,),
            )
        finally:
            os.close(read_fd)
    os.chmod(path, 0o600)
    return path


def make_proxy(
    user: Identity,
    *,
    group: str | None = "belle",
    hours: float = 24,
    voms: bool = True,
    bits: int = 2048,
    not_after: dt.datetime | None = None,
) -> bytes:
    """An RFC 3820 proxy file (proxy cert, its key, user cert) as DIRAC writes it."""
    key = new_key(bits)
    serial = secrets.randbelow(2**31 - 1) + 1
    subject = x509.Name(
        list(user.cert.subject) + [x509.NameAttribute(NameOID.COMMON_NAME, str(serial))]
    )
    end = not_after or now() + dt.timedelta(hours=hours)
    end = min(end, user.cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(user.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now() - dt.timedelta(minutes=5))
        .not_valid_after(end)
        .add_extension(x509.UnrecognizedExtension(PROXY_CERT_INFO_OID, _proxy_cert_info()), True)
        .add_extension(key_usage(signs_certificates=False), critical=True)
    )
    if group:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(DIRAC_GROUP_OID, _der_ia5(group)), False
        )
        if voms:
            fqan = b"/belle/Role=NULL/Capability=NULL"
            builder = builder.add_extension(
                x509.UnrecognizedExtension(VOMS_AC_OID, _der_seq(_der_octets(fqan))), False
            )
    cert = builder.sign(user.key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM) + key_pem + user.cert_pem


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def _der_seq(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def _der_octets(data: bytes) -> bytes:
    return _der(0x04, data)


def _der_ia5(text: str) -> bytes:
    return _der(0x16, text.encode("ascii"))


def _der_oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(reversed(chunk))
    return _der(0x06, body)


def _proxy_cert_info() -> bytes:
    """ProxyCertInfo ::= SEQUENCE { ProxyPolicy SEQUENCE { policyLanguage inheritAll } }."""
    return _der_seq(_der_seq(_der_oid(INHERIT_ALL_OID)))


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def write_ca_dir(ca: Identity, certificates: Path) -> Path:
    """A grid-security ``certificates/`` directory: the CA as ``<hash>.0`` plus policy files."""
    certificates.mkdir(parents=True, exist_ok=True)
    pem = certificates / "b2env-test-ca.pem"
    pem.write_bytes(ca.cert_pem)
    digest = run(["openssl", "x509", "-subject_hash", "-noout", "-in", pem]).stdout.strip()
    for suffix, text in (
        (".0", None),
        (".signing_policy", _signing_policy(ca)),
        (".namespaces", None),
    ):
        target = certificates / f"{digest}{suffix}"
        if text is None:
            target.unlink(missing_ok=True)
            if suffix == ".0":
                target.symlink_to(pem.name)
            continue
        target.write_text(text)
    return certificates


def dn(cert: x509.Certificate, *, issuer: bool = False) -> str:
    """The ``/DC=org/DC=.../CN=...`` form of a subject (or issuer) name."""
    subject = cert.issuer if issuer else cert.subject
    return "".join(f"/{attr.rfc4514_string()}" for attr in subject)


def _signing_policy(ca: Identity) -> str:
    ca_dn = dn(ca.cert)
    return (
        f"access_id_CA X509 '{ca_dn}'\n"
        "pos_rights globus CA:sign\n"
        "cond_subjects globus '\"/DC=org/DC=b2env-test/*\"'\n"
    )


# -- persisted test identities (state directory) ------------------------------------------------


def _load(directory: Path) -> Identity | None:
    cert, key = directory / "cert.pem", directory / "key.pem"
    if not (cert.is_file() and key.is_file()):
        return None
    # b2env wrote this key itself: skip the slow RSA consistency check on every load.
    loaded = serialization.load_pem_private_key(
        key.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
    )
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return Identity(x509.load_pem_x509_certificate(cert.read_bytes()), loaded)


def _save(identity: Identity, directory: Path) -> Identity:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    (directory / "cert.pem").write_bytes(identity.cert_pem)
    _write_private(directory / "key.pem", identity.key_pem())
    return identity


def ensure_ca(state: Path) -> Identity:
    """The test CA under ``<state>/testca/ca``, made on first use and kept afterwards."""
    directory = state / "testca" / "ca"
    return _load(directory) or _save(make_ca(), directory)


@dataclass
class TestUser:
    """A registered test identity: user name, DN, its .p12 and that file's password."""

    username: str
    identity: Identity
    p12: Path
    password: str

    @property
    def dn(self) -> str:
        return dn(self.identity.cert)


def ensure_user(state: Path, username: str, common_name: str) -> TestUser:
    """A test user under ``<state>/testca/users/<username>`` with a .p12 (AES, random password).

    The password sits beside the .p12 (mode 0600): these are throw-away identities for the demo
    and tests, signed by the test CA only.
    """
    ca = ensure_ca(state)
    directory = state / "testca" / "users" / username
    identity = _load(directory) or _save(make_user(ca, common_name), directory)
    p12 = directory / "usercred.p12"
    password_file = directory / "p12-password"
    if not (p12.is_file() and password_file.is_file()):
        password = secrets.token_urlsafe(12)
        _write_private(password_file, password.encode())
        write_p12(identity, ca, p12, password.encode())
    return TestUser(username, identity, p12, password_file.read_text().strip())


def registered_users(state: Path) -> list[TestUser]:
    users_dir = state / "testca" / "users"
    if not users_dir.is_dir():
        return []
    found = []
    for directory in sorted(p for p in users_dir.iterdir() if p.is_dir()):
        identity = _load(directory)
        password_file = directory / "p12-password"
        if identity and password_file.is_file():
            found.append(
                TestUser(
                    directory.name, identity, directory / "usercred.p12",
                    password_file.read_text().strip(),
                )
            )
    return found


#: The identities the demo and the tests use; both are registered in the mock grid.
DEMO_USERS = (("aexample", "Alex Example"), ("bexample", "Blair Example"))
