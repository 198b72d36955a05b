"""``inv proxy.*``: make a grid proxy with gb2_proxy_init, show it, renew it from cron."""

from __future__ import annotations

import dataclasses
import getpass
import json as jsonlib
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Collection

from b2env.config import Config
from b2env.errors import B2envError, ProxyError
from b2env.tasks._common import config, lazy_module, task
from b2env.tasks.cert import TRIES, stdin_lines

if TYPE_CHECKING:
    from b2env import certificates, container, proxy
else:
    certificates = lazy_module("b2env.certificates")
    container = lazy_module("b2env.container")
    proxy = lazy_module("b2env.proxy")

ns = Collection("proxy")


def init_with_retries(cfg: Config, group: str, hours: float | None,
                      pass_stdin: bool) -> proxy.InitResult:
    """One try with --pass-stdin; three prompts on a terminal; wrong passphrases re-prompt."""
    tries = 1 if pass_stdin or not sys.stdin.isatty() else TRIES
    for attempt in range(1, tries + 1):
        if pass_stdin:
            passphrase = stdin_lines(1)[0]
        else:
            passphrase = getpass.getpass("Enter Certificate password: ")
        try:
            return proxy.init_proxy(cfg, passphrase, group, hours)
        except certificates.WrongPassphrase as exc:
            if attempt == tries:
                raise ProxyError(f"wrong certificate password ({attempt} "
                                 f"tr{'y' if attempt == 1 else 'ies'})", fix=exc.fix) from None
            print("wrong certificate password, try again", file=sys.stderr)
    raise ProxyError("no proxy made")


@task(help={"group": "DIRAC group (default: the configured group, belle)",
            "hours": "proxy lifetime in hours (capped at the certificate's end)",
            "pass_stdin": "read the key passphrase from the first line of stdin",
            "workdir": "analysis directory (for b2env.yaml)"})
def init(c, group=None, hours=None, pass_stdin=False, workdir=None):
    """Make a proxy with gb2_proxy_init in the container; check the proxy it wrote."""
    cfg = config(workdir=workdir, group=group)
    result = init_with_retries(cfg, cfg.group, float(hours) if hours else None, pass_stdin)
    for note in result.notes:
        print(f"warning: {note}")
    facts = result.facts
    print(f"proxy {facts.path}: group {facts.group}, {facts.time_left} left "
          f"(until {facts.not_after})")


def tool_info(cfg: Config) -> dict[str, str]:
    """gb2_proxy_info's fields, or an empty dict when the container or tool is unavailable."""
    try:
        spec = container.run_spec(cfg, container.with_gbasf2(cfg, ["gb2_proxy_info"]),
                                  interactive=False)
        done = container.execute(spec, capture=True, timeout=300)
    except B2envError as exc:
        print(f"warning: gb2_proxy_info not run: {exc.what}", file=sys.stderr)
        return {}
    return proxy.parse_proxy_info(done.stdout)


@task(help={"json": "print JSON (file facts plus the gb2_proxy_info fields)",
            "no_container": "read the proxy file only; do not run gb2_proxy_info",
            "workdir": "analysis directory (for b2env.yaml)"})
def info(c, json=False, no_container=False, workdir=None):
    """Show the proxy: subject, identity, group, time left, path, user name, key size, hash."""
    cfg = config(workdir=workdir)
    facts = proxy.read_proxy(cfg.proxy_file)
    fields = {} if no_container else tool_info(cfg)
    facts = dataclasses.replace(facts, username=fields.get("username"))
    if json:
        data = dataclasses.asdict(facts) | {"time_left": facts.time_left, "gb2_proxy_info": fields}
        print(jsonlib.dumps(data, indent=2))
        return
    rows = [("subject", facts.subject), ("issuer", facts.issuer), ("identity", facts.identity),
            ("timeleft", facts.time_left), ("DIRAC group", facts.group or "-"),
            ("VOMS fqan", ", ".join(facts.fqans) or "-"), ("path", facts.path),
            ("username", facts.username or "-"), ("key", f"{facts.key_bits} bits"),
            ("signature", facts.signature_hash), ("mode", facts.mode)]
    for name, value in rows:
        print(f"{name.ljust(13)}: {value}")
    found = proxy.problems(facts, cfg.group)
    for problem, fix in found.values():
        print(f"problem: {problem}\n  fix: {fix}")
    if found:
        raise ProxyError("the proxy is not usable", fix="inv proxy.init")


@task(name="renew-cron",
      help={"install": "add the line to your crontab (replacing an older b2env line)",
            "passphrase_file": "file (mode 0600) holding the key passphrase for the renewal",
            "workdir": "analysis directory (for b2env.yaml)"})
def renew_cron(c, install=False, passphrase_file=None, workdir=None):
    """Print (or install) a crontab line that renews the proxy through b2env every 6 hours."""
    cfg = config(workdir=workdir)
    secret = Path(passphrase_file or "~/.config/b2env/key-passphrase").expanduser()
    command = shutil.which("b2env") or "b2env"
    line = proxy.renew_cron_line(cfg, command, secret)
    problem = proxy.passphrase_file_problem(secret)
    if problem:
        print(f"note: {problem}", file=sys.stderr)
    if install:
        proxy.install_cron_line(line)
        print(f"installed: {line}")
    else:
        print(line)


ns.add_task(init)
ns.add_task(info)
ns.add_task(renew_cron, name="renew-cron")
