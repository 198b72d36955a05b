"""Who is calling: the identity DN and DIRAC group of an RFC 3820 proxy chain.

OpenSSL has already verified the chain to the test CA (``VERIFY_ALLOW_PROXY_CERTS``), so an
expired proxy or a foreign CA never gets here. This maps the DN to a registered user and checks
the group.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

DIRAC_GROUP_OID = x509.ObjectIdentifier("1.2.42.42")


class AuthError(Exception):
    """The caller is not allowed in; the message is what the client shows."""


@dataclass(frozen=True)
class Caller:
    username: str
    group: str
    dn: str
    seconds_left: int


def dn(name: x509.Name) -> str:
    return "".join(f"/{attr.rfc4514_string()}" for attr in name)


def identity_dn(cert: x509.Certificate) -> str:
    attrs = list(cert.subject)
    while attrs and attrs[-1].oid == NameOID.COMMON_NAME and str(attrs[-1].value).isdigit():
        attrs.pop()
    return dn(x509.Name(attrs))


def group_of(cert: x509.Certificate) -> str | None:
    try:
        value = cert.extensions.get_extension_for_oid(DIRAC_GROUP_OID).value
    except x509.ExtensionNotFound:
        return None
    data = getattr(value, "value", b"")
    if len(data) < 2 or data[0] != 0x16:
        return None
    return data[2 : 2 + data[1]].decode("ascii", "replace")


def _not_after(cert: x509.Certificate) -> dt.datetime:
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=dt.timezone.utc)


def authenticate(der: bytes | None, users: dict[str, dict]) -> Caller:
    if not der:
        raise AuthError("No proxy presented: run gb2_proxy_init -g <group> first")
    cert = x509.load_der_x509_certificate(der)
    left = int((_not_after(cert) - dt.datetime.now(dt.timezone.utc)).total_seconds())
    if left <= 0:
        raise AuthError("Proxy is expired: run gb2_proxy_init -g <group>")
    identity = identity_dn(cert)
    matches = [name for name, entry in users.items() if entry["dn"] == identity]
    if not matches:
        raise AuthError(f"Unauthorized query: DN {identity} is not registered in the DIRAC registry")
    username = matches[0]
    group = group_of(cert) or "belle"
    if group not in users[username]["groups"]:
        raise AuthError(f"Unauthorized query: user {username} is not a member of group {group}")
    return Caller(username, group, identity, left)
