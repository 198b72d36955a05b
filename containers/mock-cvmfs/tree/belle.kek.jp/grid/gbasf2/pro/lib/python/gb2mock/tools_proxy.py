"""``gb2_proxy_init`` and ``gb2_proxy_info``."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from pathlib import Path
from typing import List, Optional

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gb2mock import diraccfg
from gb2mock.proxy import (
    ProxyInfo,
    credential_locations,
    format_time_left,
    make_proxy,
    not_after,
    now,
    proxy_location,
    write_private,
)


def proxy_init_main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="gb2_proxy_init", description="Create a grid proxy")
    parser.add_argument("-g", "--group", default=None, help="DIRAC group (default: belle)")
    parser.add_argument("-v", "--valid", default="24:00", help="validity HH:MM")
    parser.add_argument("-p", "--pwstdin", action="store_true", help="passphrase from stdin")
    parser.add_argument("-u", "--out", default=None, help="proxy file to write")
    parser.add_argument("-C", "--Cert", default=None, help="user certificate")
    parser.add_argument("-K", "--Key", default=None, help="user key")
    parser.add_argument("-b", "--strength", type=int, default=2048, help="key bits")
    for flag, long in (("-x", "--nocs"), ("-l", "--limited"), ("-S", "--summary"),
                       ("-t", "--strict"), ("-j", "--noclockcheck"), ("-r", "--rfc"),
                       ("-L", "--legacy"), ("-M", "--VOMS")):
        parser.add_argument(flag, long, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        hours = _hours(args.valid)
    except ValueError:
        print(f"Error: bad validity '{args.valid}', expected HH:MM")
        return 1
    return _proxy_init(args, hours)


def _hours(text: str) -> float:
    hh, _, mm = text.partition(":")
    return int(hh) + int(mm or 0) / 60


def _proxy_init(args: argparse.Namespace, hours: float) -> int:
    cfg = diraccfg.load()
    group = args.group or cfg.get_path("Registry/DefaultGroup", "belle") or "belle"
    cert_path, key_path = credential_locations()
    cert_path = Path(args.Cert) if args.Cert else cert_path
    key_path = Path(args.Key) if args.Key else key_path
    print("Generating proxy...")
    for path in (cert_path, key_path):
        if not path.is_file():
            print(f"Error: Can't find user certificate and key ({path} is missing)")
            return 1
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = _load_key(key_path.read_bytes(), args.pwstdin)
    if key is None:
        print("Bad passphrase")
        print(f"Error: Can't load key file {key_path}: bad passphrase")
        return 0
    return _issue(cfg, args, cert, key, group, hours)


def _load_key(data: bytes, pwstdin: bool) -> Optional[rsa.RSAPrivateKey]:
    encrypted = b"ENCRYPTED" in data
    password = None
    if pwstdin:
        password = sys.stdin.readline().rstrip("\n").encode()
    elif encrypted:
        password = getpass.getpass("Enter Certificate password:").encode()
    try:
        key = serialization.load_pem_private_key(data, password=password if encrypted else None)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPrivateKey) else None


def _issue(
    cfg: diraccfg.Section, args: argparse.Namespace, cert: x509.Certificate,
    key: rsa.RSAPrivateKey, group: str, hours: float,
) -> int:
    from gb2mock.proxy import dn

    user_dn = dn(cert.subject)
    if not_after(cert) <= now():
        print(f"Error: Your certificate expired on {not_after(cert):%Y-%m-%d %H:%M:%S} UTC")
        return 1
    if not_after(cert) - now() < dt.timedelta(days=30):
        print(f"Warning: your certificate expires on {not_after(cert):%Y-%m-%d}, renew it soon")
    print("Contacting CS...")
    print(f"Checking DN {user_dn}")
    username = diraccfg.users_by_dn(cfg).get(user_dn)
    if username is None:
        print(f"Error: DN {user_dn} is not registered")
        return 1
    print(f"Username is {username}")
    if group not in diraccfg.groups_of(cfg, username):
        print(f"Error: {username} is not a member of group {group}")
        return 1
    print(f"Creating proxy for {username}@{group} ({user_dn})")
    data, end = make_proxy(cert, key, group, hours, bits=args.strength)
    if end < now() + dt.timedelta(hours=hours) - dt.timedelta(minutes=1):
        print(f"Proxy lifetime capped at the certificate's end, {end:%Y-%m-%d %H:%M} UTC")
    out = Path(args.out) if args.out else proxy_location()
    write_private(out, data)
    print("Added VOMS attribute /belle")
    print("Proxy generated:")
    _print_info(ProxyInfo(out), cfg)
    print("Succeed with return value:")
    print("0")
    return 0


def proxy_info_main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="gb2_proxy_info", description="Show the grid proxy")
    parser.add_argument("-f", "--file", default=None, help="proxy file (default: your proxy)")
    parser.add_argument("-n", "--novoms", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-v", "--checkvalid", action="store_true", help="fail if expired")
    args = parser.parse_args(argv)
    path = Path(args.file) if args.file else proxy_location()
    if not path.is_file():
        print(f"Error: Proxy file {path} does not exist ( 2 : No such file or directory)")
        return 1
    try:
        info = ProxyInfo(path)
    except ValueError as exc:
        print(f"Error: Can't load proxy {path}: {exc}")
        return 1
    _print_info(info, diraccfg.load())
    if info.seconds_left == 0:
        print("Error: Proxy is expired")
        return 1
    return 0


def _print_info(info: ProxyInfo, cfg: diraccfg.Section) -> None:
    username = diraccfg.users_by_dn(cfg).get(info.identity)
    rows = [
        ("subject", info.subject),
        ("issuer", info.issuer),
        ("identity", info.identity),
        ("timeleft", format_time_left(info.seconds_left)),
        ("DIRAC group", info.group),
        ("rfc", str(info.rfc)),
        ("path", str(info.path)),
        ("username", username),
        ("properties", diraccfg.group_properties(cfg, info.group) if info.group else None),
        ("VOMS", "True" if info.fqans else None),
        ("VOMS fqan", repr(info.fqans) if info.fqans else None),
    ]
    for name, value in rows:
        if value is not None:
            print(f"{name.ljust(13)}: {value}")
