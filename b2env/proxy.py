"""Grid proxies: reading a proxy file, parsing ``gb2_proxy_info``, and making one with
``gb2_proxy_init`` in the user container.

``gb2_proxy_init`` can exit 0 after a failure, so success is decided by reading the proxy it
wrote: present, time left, the DIRAC group (extension 1.2.42.42) and a VOMS FQAN (extension
1.3.6.1.4.1.8005.100.100.5). The tool writes to a temporary file beside the proxy
(``X509_USER_PROXY`` points there); only a good proxy is renamed over the old one (0600), so a
failed renewal never destroys a working proxy, and a 0400 proxy can always be replaced.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import secrets
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from b2env import certificates, runner
from b2env.config import Config
from b2env.errors import ProxyError

log = logging.getLogger(__name__)

UTC = dt.timezone.utc
DIRAC_GROUP_OID = x509.ObjectIdentifier("1.2.42.42")
VOMS_AC_OID = x509.ObjectIdentifier("1.3.6.1.4.1.8005.100.100.5")
MIN_KEY_BITS = 2048
STRONG_HASHES = ("sha256", "sha384", "sha512")
CRON_MARKER = "# b2env proxy renewal"


@dataclass(frozen=True)
class ProxyFacts:
    """What a proxy file says about itself (read with ``cryptography``, no grid tool)."""

    path: str
    subject: str
    issuer: str
    identity: str
    group: str | None
    fqans: list[str]
    not_after: str
    seconds_left: int
    key_bits: int
    signature_hash: str
    mode: str
    username: str | None = None

    @property
    def time_left(self) -> str:
        return format_time_left(self.seconds_left)


def format_time_left(seconds: int) -> str:
    hours, rest = divmod(max(0, seconds), 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def check_mode(path: Path, uid: int | None = None) -> str:
    """0400 and 0600 are accepted; any group or other bit, or another owner, is refused."""
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    uid = os.geteuid() if uid is None else uid
    if mode & 0o077:
        raise ProxyError(
            f"proxy {path} has mode {mode:04o}: group or other users can read it",
            why="grid tools refuse a proxy that others can read (0400 and 0600 are accepted)",
            fix=f"chmod 600 {path}   (or make a new one: inv proxy.init)",
        )
    if info.st_uid != uid:
        raise ProxyError(
            f"proxy {path} is owned by uid {info.st_uid}, process uid {uid}",
            fix="make your own proxy: inv proxy.init (proxy_path in a directory you own)",
        )
    return f"{mode:04o}"


def read_proxy(path: Path, *, at: dt.datetime | None = None) -> ProxyFacts:
    """Read and check the proxy at ``path``; ProxyError when it is missing or unusable."""
    if not path.is_file():
        raise ProxyError(f"no proxy at {path}", fix="make one: inv proxy.init")
    mode = check_mode(path)
    try:
        chain = x509.load_pem_x509_certificates(path.read_bytes())
    except ValueError as exc:
        raise ProxyError(f"{path} is not a readable proxy", why=str(exc),
                         fix="make a new one: inv proxy.init") from None
    cert, at = chain[0], at or certificates.now()
    return ProxyFacts(
        path=str(path),
        subject=certificates.dn(cert.subject),
        issuer=certificates.dn(cert.issuer),
        identity=certificates.dn(chain[-1].subject) if len(chain) > 1 else
        certificates.dn(cert.issuer),
        group=_ia5(cert, DIRAC_GROUP_OID),
        fqans=_fqans(cert),
        not_after=f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC",
        seconds_left=max(0, int((cert.not_valid_after_utc - at).total_seconds())),
        key_bits=getattr(cert.public_key(), "key_size", 0),
        signature_hash=certificates.signature_hash(cert),
        mode=mode,
    )


def problems(facts: ProxyFacts, group: str) -> dict[str, tuple[str, str]]:
    """Check id -> (problem, fix) for a proxy that was read fine; empty when it is usable."""
    found = {}
    if facts.seconds_left == 0:
        found["proxy.time"] = (f"proxy expired on {facts.not_after}", "inv proxy.init")
    if facts.group != group or not facts.fqans:
        found["proxy.group"] = (
            f"no VOMS attribute for group {group}: check VO membership / vomses",
            f"check your Belle II VO membership, then inv proxy.init --group {group}",
        )
    if facts.key_bits < MIN_KEY_BITS or facts.signature_hash not in STRONG_HASHES:
        found["proxy.strength"] = (
            f"proxy has a {facts.key_bits}-bit key signed with {facts.signature_hash}; "
            f"at least {MIN_KEY_BITS} bits and SHA-256 are needed",
            "inv proxy.init  (b2env asks for 2048-bit proxies)",
        )
    return found


def _extension_bytes(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    return getattr(value, "value", None)


def _ia5(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    data = _extension_bytes(cert, oid)
    if not data or data[0] != 0x16 or data[1] & 0x80:
        return None
    return data[2 : 2 + data[1]].decode("ascii", "replace")


def _fqans(cert: x509.Certificate) -> list[str]:
    """The FQANs: OCTET STRINGs anywhere in the extension that start with ``/``."""
    data = _extension_bytes(cert, VOMS_AC_OID) or b""
    return [m.decode("ascii", "replace") for m in re.findall(rb"\x04[\x01-\x7f](/[\x20-\x7e]+)",
                                                             data)]


# -- gb2_proxy_info ----------------------------------------------------------------------------
def parse_proxy_info(text: str) -> dict[str, str]:
    """``name: value`` lines of ``gb2_proxy_info`` (name padded to 13 columns) as a dict."""
    fields = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z][A-Za-z ]*?)\s*: (.*)$", line)
        if match:
            fields[match.group(1)] = match.group(2).strip()
    return fields


def seconds_from(time_left: str) -> int:
    """``HH:MM:SS`` (hours may exceed 24) as seconds; 0 when it does not parse."""
    parts = time_left.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return 0
    return int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])


# -- gb2_proxy_init ----------------------------------------------------------------------------
def cap_hours(cert: x509.Certificate, hours: float, at: dt.datetime | None = None
              ) -> tuple[float, str | None]:
    """``hours``, or the certificate's remaining life when shorter, and the note saying so."""
    at = at or certificates.now()
    left = (cert.not_valid_after_utc - at).total_seconds() / 3600
    if hours <= left:
        return hours, None
    capped = max(0.0, int(left * 60) / 60)
    return capped, (f"proxy capped at {capped:.1f} h (asked {hours:g} h): the certificate ends "
                    f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC")


def valid_arg(hours: float) -> str:
    """``-v`` value ``HH:MM`` (hours may exceed 99)."""
    minutes = int(round(hours * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def preflight(cfg: Config, passphrase: str) -> tuple[x509.Certificate, list[str]]:
    """Certificate and key checks that must pass before any grid step; returns warnings."""
    globus = cfg.globus_path
    cert_file, key_file = certificates.cert_path(globus), certificates.key_path(globus)
    cert = certificates.load_certificate(cert_file)
    warning = certificates.check_validity(cert)
    certificates.check_key_file(key_file)
    key = certificates.load_key(key_file, passphrase)
    certificates.check_pair(cert, key, cert_file, key_file)
    return cert, [warning] if warning else []


@dataclass
class InitResult:
    facts: ProxyFacts
    notes: list[str]


def init_proxy(cfg: Config, passphrase: str, group: str | None = None,
               hours: float | None = None) -> InitResult:
    """Make a proxy with ``gb2_proxy_init -g G -v HH:MM --pwstdin`` in the user container."""
    from b2env import container

    group = group or cfg.group
    cert, notes = preflight(cfg, passphrase)
    hours, cap = cap_hours(cert, float(hours or cfg.proxy_hours))
    notes += [cap] if cap else []
    target = cfg.proxy_file
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fresh = target.parent / f".{target.name}.new-{secrets.token_hex(4)}"
    argv = ["gb2_proxy_init", "-g", group, "-v", valid_arg(hours), "--pwstdin"]
    globus = cfg.globus_path
    env = {"X509_USER_PROXY": str(fresh),
           "X509_USER_CERT": str(certificates.cert_path(globus)),
           "X509_USER_KEY": str(certificates.key_path(globus))}
    spec = container.run_spec(cfg.with_overrides(group=group),
                              container.with_gbasf2(cfg.with_overrides(group=group), argv),
                              interactive=False, env=env)
    log.info("running gb2_proxy_init -g %s -v %s in the container", group, valid_arg(hours))
    try:
        done = container.execute(spec, input=passphrase + "\n", capture=True, timeout=600)
        judge(done, fresh, group)
        os.chmod(fresh, 0o600)
        os.replace(fresh, target)
    finally:
        fresh.unlink(missing_ok=True)
    return InitResult(read_proxy(target), notes)


def judge(done: runner.Completed, fresh: Path, group: str) -> ProxyFacts:
    """Decide from the written proxy (not the exit code) whether gb2_proxy_init worked."""
    output = done.stdout + done.stderr
    errors = [line for line in output.splitlines() if line.lstrip().startswith("Error")]
    if re.search(r"bad pass", output, re.IGNORECASE):
        raise certificates.WrongPassphrase("wrong certificate password (gb2_proxy_init: Bad "
                                           "passphrase)", fix="enter your key passphrase again")
    if not fresh.is_file():
        raise ProxyError(f"gb2_proxy_init wrote no proxy (exit code {done.returncode})",
                         evidence=errors or done.tail(), fix=_init_fix(output))
    facts = read_proxy(fresh)
    found = problems(facts, group)
    if found:
        problem, fix = next(iter(found.values()))
        raise ProxyError(problem, evidence=errors or done.tail(8), fix=fix)
    for line in errors:
        log.warning("gb2_proxy_init said %r, but the proxy it wrote is good", line)
    return facts


def _init_fix(output: str) -> str:
    if "not registered" in output or "not a member" in output:
        return "register your DN with the Belle II VO / DIRAC (inv cert.dn prints it)"
    if "setup script" in output or "no gbasf2" in output:
        return "check gbasf2_setup and /cvmfs/belle.kek.jp: inv verify"
    return "read the evidence above; inv verify checks the certificate, CVMFS and grid setup"


# -- renewal from cron -------------------------------------------------------------------------
def renew_cron_line(cfg: Config, b2env_command: str, passphrase_file: Path) -> str:
    """A crontab line renewing the proxy through b2env every 6 hours."""
    log_file = cfg.state_path / "proxy-renew.log"
    command = (f"cd {shlex.quote(str(cfg.work_path))} && {shlex.quote(b2env_command)} proxy.init "
               f"--pass-stdin --group {shlex.quote(cfg.group)} --hours {cfg.proxy_hours} "
               f"< {shlex.quote(str(passphrase_file))} >> {shlex.quote(str(log_file))} 2>&1")
    return f"17 */6 * * * {command}  {CRON_MARKER}"


def install_cron_line(line: str) -> None:
    """Replace b2env's renewal line in the user's crontab (other lines kept)."""
    current = runner.run(["crontab", "-l"], check=False)
    kept = [entry for entry in current.stdout.splitlines() if CRON_MARKER not in entry]
    runner.run(["crontab", "-"], input="\n".join([*kept, line]) + "\n", error=ProxyError,
               fix="check that cron is installed and you may use crontab")


def passphrase_file_problem(path: Path) -> str | None:
    if not path.is_file():
        return f"{path} does not exist: write your key passphrase there (one line, mode 0600)"
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"{path} has mode {mode:04o}: chmod 600 {path}"
    return None
