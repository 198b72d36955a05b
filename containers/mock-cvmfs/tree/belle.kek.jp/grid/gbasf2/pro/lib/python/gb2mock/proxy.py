"""RFC 3820 proxies: where they live, how they are made, what they say.

A proxy file holds the proxy certificate, its unencrypted key and the user certificate (PEM).
The DIRAC group sits in extension 1.2.42.42 (DER IA5String), the VOMS FQAN in
1.3.6.1.4.1.8005.100.100.5.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

UTC = dt.timezone.utc
DIRAC_GROUP_OID = x509.ObjectIdentifier("1.2.42.42")
VOMS_AC_OID = x509.ObjectIdentifier("1.3.6.1.4.1.8005.100.100.5")
PROXY_CERT_INFO_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")
# ProxyCertInfo ::= SEQUENCE { ProxyPolicy SEQUENCE { id-ppl-inheritAll } }
PROXY_CERT_INFO_DER = bytes.fromhex("300c300a06082b06010505071501")


def proxy_location() -> Path:
    for name in ("X509_USER_PROXY", "GRID_PROXY_FILE"):
        if os.environ.get(name):
            return Path(os.environ[name])
    return Path(f"/tmp/x509up_u{os.getuid()}")


def credential_locations() -> Tuple[Path, Path]:
    globus = Path(os.path.expanduser("~")) / ".globus"
    cert = os.environ.get("X509_USER_CERT") or str(globus / "usercert.pem")
    key = os.environ.get("X509_USER_KEY") or str(globus / "userkey.pem")
    return Path(cert), Path(key)


def not_after(cert: x509.Certificate) -> dt.datetime:
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=UTC)


def now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def dn(name: x509.Name) -> str:
    return "".join(f"/{attr.rfc4514_string()}" for attr in name)


def identity_dn(cert: x509.Certificate) -> str:
    """The subject without the trailing proxy ``CN=<digits>`` components."""
    attrs = list(cert.subject)
    while attrs and attrs[-1].oid == NameOID.COMMON_NAME and str(attrs[-1].value).isdigit():
        attrs.pop()
    return dn(x509.Name(attrs))


def _der_ia5(text: str) -> bytes:
    body = text.encode("ascii")
    return bytes([0x16, len(body)]) + body


def _der_voms(fqan: str) -> bytes:
    octets = bytes([0x04, len(fqan)]) + fqan.encode("ascii")
    return bytes([0x30, len(octets)]) + octets


def make_proxy(
    user_cert: x509.Certificate, user_key: rsa.RSAPrivateKey, group: str, hours: float,
    bits: int = 2048,
) -> Tuple[bytes, dt.datetime]:
    """The proxy file content and its end time (capped at the certificate's end)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    serial = secrets.randbelow(2**31 - 1) + 1
    subject = x509.Name(
        list(user_cert.subject) + [x509.NameAttribute(NameOID.COMMON_NAME, str(serial))]
    )
    end = min(now() + dt.timedelta(hours=hours), not_after(user_cert))
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=True,
        data_encipherment=False, key_agreement=False, key_cert_sign=False,
        crl_sign=False, encipher_only=False, decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(user_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now() - dt.timedelta(minutes=5))
        .not_valid_after(end)
        .add_extension(x509.UnrecognizedExtension(PROXY_CERT_INFO_OID, PROXY_CERT_INFO_DER), True)
        .add_extension(usage, critical=True)
        .add_extension(x509.UnrecognizedExtension(DIRAC_GROUP_OID, _der_ia5(group)), False)
        .add_extension(x509.UnrecognizedExtension(VOMS_AC_OID, _der_voms("/belle/Role=NULL/Capability=NULL")), False)
        .sign(user_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    user_pem = user_cert.public_bytes(serialization.Encoding.PEM)
    return cert.public_bytes(serialization.Encoding.PEM) + key_pem + user_pem, end


def write_private(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ProxyInfo:
    """What a proxy file says about itself."""

    def __init__(self, path: Path) -> None:
        self.path = path
        certs = x509.load_pem_x509_certificates(path.read_bytes()) if hasattr(
            x509, "load_pem_x509_certificates"
        ) else _load_all(path.read_bytes())
        self.cert = certs[0]
        self.chain = certs
        self.subject = dn(self.cert.subject)
        self.issuer = dn(self.cert.issuer)
        self.identity = identity_dn(self.cert)
        self.group = _ia5_extension(self.cert, DIRAC_GROUP_OID)
        self.fqans = _voms_fqans(self.cert)
        self.end = not_after(self.cert)
        self.rfc = _has_extension(self.cert, PROXY_CERT_INFO_OID)

    @property
    def seconds_left(self) -> int:
        return max(0, int((self.end - now()).total_seconds()))


def _load_all(data: bytes) -> List[x509.Certificate]:
    marker = b"-----BEGIN CERTIFICATE-----"
    return [x509.load_pem_x509_certificate(marker + chunk) for chunk in data.split(marker)[1:]]


def _has_extension(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bool:
    try:
        cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return False
    return True


def _extension_bytes(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> Optional[bytes]:
    try:
        value = cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    return getattr(value, "value", None)


def _ia5_extension(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> Optional[str]:
    data = _extension_bytes(cert, oid)
    if not data or data[0] != 0x16:
        return None
    return data[2 : 2 + data[1]].decode("ascii", "replace")


def _voms_fqans(cert: x509.Certificate) -> List[str]:
    data = _extension_bytes(cert, VOMS_AC_OID)
    if not data:
        return []
    fqans, i = [], 2
    while i < len(data):
        if data[i] != 0x04:
            break
        length = data[i + 1]
        fqans.append(data[i + 2 : i + 2 + length].decode("ascii", "replace").split("/Role=")[0])
        i += 2 + length
    return fqans


def format_time_left(seconds: int) -> str:
    hours, rest = divmod(max(0, seconds), 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
