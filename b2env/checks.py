"""The environment doctor behind ``inv verify``: host checks, then one container start for the
in-container checks. Each check is one line (ok, warn, fail, skip); a warn or fail carries its
fix. A check whose prerequisite failed is ``skip`` so that one fault gives one failing line.
The JSON form is documented in ``docs/doctor-json.md``.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography import x509

from b2env import certificates, container, proxy
from b2env.config import Config
from b2env.errors import B2envError

log = logging.getLogger(__name__)

Status = Literal["ok", "warn", "fail", "skip"]
SCHEMA = "b2env-doctor/1"


@dataclass
class Check:
    id: str
    name: str
    status: Status
    message: str
    fix: str | None = None
    evidence: list[str] = field(default_factory=list)


def ok(check_id: str, name: str, message: str) -> Check:
    return Check(check_id, name, "ok", message)


def skip(check_id: str, name: str, because: str) -> Check:
    return Check(check_id, name, "skip", f"not checked: {because}")


def from_error(check_id: str, name: str, exc: B2envError, status: Status = "fail") -> Check:
    return Check(check_id, name, status, exc.what, exc.fix, list(exc.evidence))


def guarded(check_id: str, name: str, body: Callable[[], Check]) -> Check:
    """Run one check; a B2envError becomes its failing line."""
    try:
        return body()
    except B2envError as exc:
        return from_error(check_id, name, exc)


# -- host: engine, image, CVMFS ------------------------------------------------------------------
def engine_check() -> Check:
    from b2env import engine

    def body() -> Check:
        version = engine.client().version()
        return ok("engine", "Docker engine", f"Docker {version.get('Version', '?')} answering")

    return guarded("engine", "Docker engine", body)


def image_check(cfg: Config) -> Check:
    from b2env import engine, images

    def body() -> Check:
        tag = images.planned_tag(cfg)
        found = engine.image_id(tag)
        if found is None:
            return Check("image", "user image", "fail", f"user image {tag} is not built",
                         f"inv image.build --os {cfg.os}")
        lock = cfg.work_path / images.LOCK_FILE
        if not lock.is_file():
            return Check("image", "user image", "warn", f"{tag} present; no {lock} to compare",
                         "inv image.build  (writes b2env.lock; commit it with your analysis)")
        locked = json.loads(lock.read_text()).get(cfg.os, {}).get("image", {}).get("id", "")
        if locked and locked != found:
            return Check("image", "user image", "fail",
                         f"{tag} is {found[:19]}, but b2env.lock records {locked[:19]}",
                         "inv image.build to update the lock, or rebuild the locked image")
        return ok("image", "user image", f"{tag} ({found[:19]}) matches b2env.lock")

    return guarded("image", "user image", body)


def cvmfs_check(cfg: Config) -> Check:
    def body() -> Check:
        mode = container.cvmfs_use(cfg)
        if mode == "none":
            return Check("cvmfs", "CVMFS", "warn", "cvmfs_mode is none: no basf2 or gbasf2 "
                         "in the container", "set cvmfs_mode to host or mock")
        if mode == "mock":
            staged = container.staged_mock_cvmfs(cfg)
            return ok("cvmfs", "CVMFS", f"mock CVMFS stand-in staged at {staged}")
        empty = [r for r in cfg.cvmfs_repos if not _has_content(Path("/cvmfs") / r)]
        if empty:
            return Check("cvmfs", "CVMFS", "fail", "CVMFS not mounted on host: "
                         f"{', '.join('/cvmfs/' + r for r in empty)} missing or empty",
                         "install the CVMFS client and run 'cvmfs_config probe', "
                         "or set cvmfs_mode to mock")
        return ok("cvmfs", "CVMFS", f"host /cvmfs mounted ({', '.join(cfg.cvmfs_repos)})")

    return guarded("cvmfs", "CVMFS", body)


def _has_content(path: Path) -> bool:
    try:
        return any(os.scandir(path))
    except OSError:
        return False


# -- host: certificate and key -------------------------------------------------------------------
def credential_checks(cfg: Config, passphrase: str | None = None) -> list[Check]:
    """Certificate, key rules (as the container uid), directory mode, pair, strength."""
    globus = cfg.globus_path
    cert_file, key_file = certificates.cert_path(globus), certificates.key_path(globus)
    try:
        cert = certificates.load_certificate(cert_file)
        warning = certificates.check_validity(cert)
        facts = certificates.describe(cert)
        first = Check("cert.file", "certificate", "warn" if warning else "ok",
                      warning or f"{facts.subject}, valid {facts.not_before} to "
                      f"{facts.not_after} ({facts.days_left} days left)",
                      "renew with your CA before it expires" if warning else None)
    except B2envError as exc:
        return [from_error("cert.file", "certificate", exc),
                *(skip(i, n, "no usable certificate") for i, n in _CERT_FOLLOWERS)]
    checks = [first, _key_rules(key_file), _globus_dir(globus), _strength(facts)]
    checks.insert(2, _pair(cert, cert_file, key_file, passphrase, checks[1].status))
    return checks


_CERT_FOLLOWERS = (("cert.key", "private key file"), ("cert.pair", "key matches certificate"),
                   ("cert.dir", "~/.globus directory"), ("cert.strength", "key size and hash"))


def _key_rules(key_file: Path) -> Check:
    uid = os.getuid()  # the uid the container runs as (container.run_spec)

    def body() -> Check:
        certificates.check_key_file(key_file, uid)
        mode = stat.S_IMODE(key_file.stat().st_mode)
        return ok("cert.key", "private key file", f"{key_file} mode {mode:04o}, owner uid {uid} "
                  "(the container's uid)")

    return guarded("cert.key", "private key file", body)


def _pair(cert: x509.Certificate, cert_file: Path, key_file: Path, passphrase: str | None,
          key_status: str) -> Check:
    name = "key matches certificate"
    if key_status == "fail":
        return skip("cert.pair", name, "the key file failed its check")
    encrypted = certificates.key_is_encrypted(key_file.read_bytes())
    if encrypted and not passphrase:
        return skip("cert.pair", name, "the key is encrypted; inv cert.check asks for the "
                    "passphrase and compares them (proxy.init always does)")

    def body() -> Check:
        key = certificates.load_key(key_file, passphrase)
        certificates.check_pair(cert, key, cert_file, key_file)
        return ok("cert.pair", name,
                  f"certificate public key {certificates.fingerprint(cert.public_key())} = "
                  f"key public key {certificates.fingerprint(key.public_key())}")

    return guarded("cert.pair", name, body)


def _globus_dir(globus: Path) -> Check:
    warning = certificates.globus_dir_warning(globus)
    if warning:
        return Check("cert.dir", "~/.globus directory", "warn", warning,
                     "inv cert.fix-permissions  (sets 0700)")
    return ok("cert.dir", "~/.globus directory", f"{globus} is private")


def _strength(facts: certificates.CertificateFacts) -> Check:
    name = "key size and hash"
    if facts.key_bits < 2048 or facts.signature_hash in ("sha1", "md5"):
        return Check("cert.strength", name, "fail",
                     f"{facts.key_bits}-bit key signed with {facts.signature_hash}; grid sites "
                     "need >= 2048 bits and SHA-256", "ask your CA for a new certificate")
    return ok("cert.strength", name, f"{facts.key_bits}-bit RSA, {facts.signature_hash}")


# -- host: proxy -------------------------------------------------------------------------------
PROXY_CHECKS = (("proxy.time", "proxy time left"), ("proxy.group", "proxy group / VOMS"),
                ("proxy.strength", "proxy key and hash"))


def proxy_checks(cfg: Config) -> list[Check]:
    try:
        facts = proxy.read_proxy(cfg.proxy_file)
    except B2envError as exc:
        return [from_error("proxy.file", "proxy file", exc),
                *(skip(i, n, "no readable proxy") for i, n in PROXY_CHECKS)]
    checks = [ok("proxy.file", "proxy file", f"{facts.path} mode {facts.mode}")]
    found = proxy.problems(facts, cfg.group)
    fine = {"proxy.time": f"{facts.time_left} left (until {facts.not_after})",
            "proxy.group": f"group {facts.group}, VOMS {', '.join(facts.fqans)}",
            "proxy.strength": f"{facts.key_bits}-bit key, {facts.signature_hash}"}
    for check_id, name in PROXY_CHECKS:
        if check_id in found:
            checks.append(Check(check_id, name, "fail", *found[check_id]))
        else:
            checks.append(ok(check_id, name, fine[check_id]))
    return checks


# -- in the container ----------------------------------------------------------------------------
def container_checks(cfg: Config, *, key_ok: bool, proxy_ok: bool, cvmfs_ok: bool) -> list[Check]:
    """Run the probe once in the user container and turn its JSON lines into checks."""
    from b2env import images

    mode = container.cvmfs_use(cfg)
    request = {
        "os": cfg.os, "release": cfg.release, "group": cfg.group,
        "setup": cfg.gbasf2_setup, "cvmfs": cvmfs_ok and mode != "none",
        "key": str(certificates.key_path(cfg.globus_path)) if key_ok else "",
        "proxy": proxy_ok, "mock_url": cfg.mock_grid_url if container.uses_mock_grid(cfg, mode)
        else "", "libexec": container.LIBEXEC,
    }
    # Without usable CVMFS the probe still checks the key: start the container without /cvmfs
    # so that the CVMFS fault stays the only failing line.
    run_cfg = cfg if request["cvmfs"] else cfg.with_overrides(cvmfs_mode="none")
    try:
        spec = container.run_spec(run_cfg, ["python3", "-c", PROBE, json.dumps(request)],
                                  interactive=False, image=images.planned_tag(cfg))
        done = container.execute(spec, capture=True, timeout=600)
    except B2envError as exc:
        return [from_error("container", "container start", exc)]
    checks = [Check(**line) for line in _json_lines(done.stdout)]
    if not checks:
        return [Check("container", "container start", "fail",
                      f"the doctor probe gave no answer (exit code {done.returncode})",
                      "inv shell -- python3 --version  (to see the container start)",
                      done.tail(10))]
    return checks


def _json_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                log.debug("probe line not JSON: %s", line)
    return found


# -- all of it -----------------------------------------------------------------------------------
def run_checks(cfg: Config, *, include_proxy: bool = True, passphrase: str | None = None,
               in_container: bool = True) -> list[Check]:
    """Every check, in order; prerequisites that failed turn their followers into skips."""
    checks = [engine_check()]
    engine_ok = checks[0].status == "ok"
    checks.append(image_check(cfg) if engine_ok else skip("image", "user image", "no engine"))
    checks.append(cvmfs_check(cfg))
    checks += credential_checks(cfg, passphrase)
    if include_proxy:
        checks += proxy_checks(cfg)
    status = {c.id: c.status for c in checks}
    if in_container and engine_ok and status["image"] != "fail":
        checks += container_checks(
            cfg, key_ok=status.get("cert.key") == "ok",
            proxy_ok=include_proxy and all(status.get(i) == "ok" for i, _ in
                                           (("proxy.file", ""), *PROXY_CHECKS)),
            cvmfs_ok=status["cvmfs"] == "ok",
        )
    elif in_container:
        checks.append(skip("container", "in-container checks", "no engine or no user image"))
    return checks


def lines(check: Check) -> list[str]:
    """The human form: ``[ ok ] name: message``, then the fix and evidence of a warn/fail."""
    out = [f"[{check.status:^4}] {check.name}: {check.message}"]
    if check.status in ("warn", "fail"):
        out += [f"         {line}" for line in check.evidence]
        if check.fix:
            out.append(f"         fix: {check.fix}")
    return out


def failed(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == "fail"]


def as_json(checks: list[Check]) -> dict[str, object]:
    counts = {s: sum(c.status == s for c in checks) for s in ("ok", "warn", "fail", "skip")}
    return {"schema": SCHEMA, "ok": counts["fail"] == 0, "counts": counts,
            "checks": [asdict(c) for c in checks]}


#: Runs in the user container as ``python3 -c PROBE REQUEST_JSON`` (Python 3.6+, stdlib only) and
#: prints one JSON line per check; a failed prerequisite turns its followers into skips.
PROBE = r'''
import glob, json, os, ssl, subprocess, sys, urllib.request
req = json.loads(sys.argv[1])
LIB, REL, GROUP = req["libexec"], req["release"], req["group"]
ROOT = req.get("root", "/cvmfs")
done = {}

def emit(cid, name, status, message, fix=None, evidence=()):
    done[cid] = status
    print(json.dumps({"id": cid, "name": name, "status": status, "message": message,
                      "fix": fix, "evidence": list(evidence)}), flush=True)

def skip(cid, name, why):
    emit(cid, name, "skip", "not checked: " + why)

def run(argv, timeout=300):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, universal_newlines=True, timeout=timeout)
        return p.returncode, p.stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)

def tail(text, n=8):
    return [line for line in text.splitlines() if line.strip()][-n:]

def gbasf2(argv):
    setup = ["--setup", req["setup"]] if req["setup"] else []
    return run([LIB + "/with-gbasf2", "--group", GROUP] + setup + ["--"] + argv)

def basf2_chain():
    tree = "%s/belle.cern.ch/%s/releases" % (ROOT, req["os"])
    names = ("cvmfs.tree", "basf2.release", "basf2.b2setup", "basf2.version")
    titles = ("basf2 tree for " + req["os"], "release " + REL, "b2setup " + REL,
              "basf2 --version")
    if not req["cvmfs"]:
        return [skip(c, t, "CVMFS is not available") for c, t in zip(names, titles)]
    if not (os.path.isdir(tree) and os.listdir(tree)):
        emit(names[0], titles[0], "fail", "no basf2 tree for %s at %s" % (req["os"], tree),
             "use an OS with a tree on CVMFS (os: el9 or ubuntu2404)")
        return [skip(c, t, "no tree for this OS") for c, t in zip(names[1:], titles[1:])]
    emit(names[0], titles[0], "ok", tree)
    if not os.path.isdir(os.path.join(tree, REL)):
        have = sorted(os.listdir(tree))[-6:]
        emit(names[1], titles[1], "fail", "%s is not in %s" % (REL, tree),
             "set release to one that exists (inv basf2.releases)", ["available: " + " ".join(have)])
        return [skip(c, t, "release missing") for c, t in zip(names[2:], titles[2:])]
    emit(names[1], titles[1], "ok", os.path.join(tree, REL))
    code, out = run([LIB + "/with-basf2", REL, "--", "true"])
    if code != 0:
        emit(names[2], titles[2], "fail", "b2setup %s failed (exit %d)" % (REL, code),
             "run 'inv shell' and 'source /cvmfs/belle.cern.ch/tools/b2setup %s'" % REL, tail(out))
        return skip(names[3], titles[3], "b2setup failed")
    emit(names[2], titles[2], "ok", "b2setup %s succeeded" % REL)
    code, out = run([LIB + "/with-basf2", REL, "--", "basf2", "--version"])
    if code != 0 or REL not in out:
        return emit(names[3], titles[3], "fail", "basf2 --version does not name %s" % REL,
                    "check the release installation on CVMFS", tail(out))
    emit(names[3], titles[3], "ok", tail(out, 1)[0] if tail(out, 1) else REL)

def gbasf2_chain():
    base = ROOT + "/belle.kek.jp/grid/gbasf2/"
    tried = ([req["setup"]] if req["setup"] else []) + [base + "pro/bashrc",
                                                        base + "production/bashrc"]
    if not req["cvmfs"]:
        skip("gbasf2.setup", "gbasf2 setup script", "CVMFS is not available")
        return skip("gbasf2.commands", "gbasf2 commands", "CVMFS is not available")
    found = [p for p in tried[:1 if req["setup"] else None] if os.access(p, os.R_OK)]
    if not found:
        emit("gbasf2.setup", "gbasf2 setup script", "fail", "no gbasf2 setup script found",
             "set gbasf2_setup to your gbasf2 bashrc, or check /cvmfs/belle.kek.jp",
             ["tried: " + p for p in tried[:1 if req["setup"] else None]])
        return skip("gbasf2.commands", "gbasf2 commands", "no setup script")
    emit("gbasf2.setup", "gbasf2 setup script", "ok", found[0])
    code, out = gbasf2(["gb2_proxy_info", "--help"])
    if code != 0:
        return emit("gbasf2.commands", "gbasf2 commands", "fail",
                    "gb2_proxy_info --help failed in the gbasf2 environment (exit %d)" % code,
                    "source the setup script in 'inv shell' and read its errors", tail(out))
    emit("gbasf2.commands", "gbasf2 commands", "ok", "gb2_proxy_info answers")

def grid_security():
    name = "CA dir, vomses, vomsdir"
    if not req["cvmfs"]:
        return skip("grid.security", name, "CVMFS is not available")
    certs = os.environ.get("X509_CERT_DIR", "")
    vomses = os.environ.get("X509_VOMSES", "")
    vomsdir = os.environ.get("X509_VOMS_DIR", "")
    missing = []
    if not glob.glob(os.path.join(certs, "*.0")):
        missing.append("CA certificates (*.0) in " + certs)
    entries = glob.glob(os.path.join(vomses, "*")) if os.path.isdir(vomses) else [vomses]
    if not any(os.path.isfile(p) and '"belle"' in open(p).read() for p in entries):
        missing.append("a vomses entry for belle in " + vomses)
    if not glob.glob(os.path.join(vomsdir, "belle", "*.lsc")):
        missing.append("LSC file(s) in " + os.path.join(vomsdir, "belle"))
    if missing:
        return emit("grid.security", name, "fail", "missing: " + "; ".join(missing),
                    "bind /cvmfs/grid.cern.ch (cvmfs_mode host or mock); never a bare image")
    emit("grid.security", name, "ok", "%s, %s, %s" % (certs, vomses, vomsdir))

def key_readable():
    name = "key readable in the container"
    if not req["key"]:
        return skip("container.key", name, "the key file failed its host check")
    try:
        with open(req["key"], "rb") as handle:
            handle.read(1)
    except OSError as exc:
        return emit("container.key", name, "fail", "%s not readable as uid %d: %s"
                    % (req["key"], os.getuid(), exc.strerror),
                    "keep ~/.globus owned by you; b2env runs the container as your uid")
    emit("container.key", name, "ok", "readable as uid %d" % os.getuid())

def grid_fix(out):
    if "CERTIFICATE_VERIFY_FAILED" in out or "SSL" in out:
        return ("the grid's host certificate is not signed by a CA in X509_CERT_DIR; mock "
                "grid: restart it with this state_dir (inv mock.down, inv mock.up)")
    if "proxy" in out.lower():
        return "inv proxy.init"
    if req["mock_url"]:
        return "start the mock grid: inv mock.up"
    return "check the network and the gbasf2 configuration (gbasf2_setup)"

def grid():
    name = "grid answering"
    if done.get("gbasf2.commands") != "ok" or done.get("grid.security") != "ok":
        return skip("grid", name, "gbasf2 or the grid-security files are not usable")
    if req["proxy"]:
        code, out = gbasf2(["gb2_project_summary"])
        if code != 0 or "Error:" in out:
            return emit("grid", name, "fail", "gb2_project_summary failed (exit %d)" % code,
                        grid_fix(out), tail(out))
        return emit("grid", name, "ok", "gb2_project_summary answered")
    if not req["mock_url"]:
        return skip("grid", name, "a valid proxy is needed to ask the real grid")
    try:
        ctx = ssl.create_default_context(capath=os.environ.get("X509_CERT_DIR"))
        urllib.request.urlopen(req["mock_url"] + "/ping", context=ctx, timeout=10).read()
    except Exception as exc:
        return emit("grid", name, "fail", "mock grid at %s not answering: %s"
                    % (req["mock_url"], exc), grid_fix(str(exc)))
    emit("grid", name, "ok", "mock grid at %s answered /ping" % req["mock_url"])

basf2_chain()
gbasf2_chain()
grid_security()
key_readable()
grid()
'''
