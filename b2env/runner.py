"""The one place b2env runs external programs.

Commands are argv lists, never shell strings. Each call is echoed at debug level as
``+ cmd ...``; a missing program raises ToolMissingError naming how to get it, and a failing
one raises with the command, its exit code and the last lines of its output.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from b2env.errors import B2envError, ToolMissingError

log = logging.getLogger(__name__)

#: How to install programs b2env shells out to, by program name.
INSTALL_HINTS: dict[str, str] = {
    "docker": "install Docker Engine (https://docs.docker.com/engine/install/) and start it",
    "mmdebstrap": "sudo apt-get install mmdebstrap   (or debootstrap)",
    "debootstrap": "sudo apt-get install debootstrap",
    "apptainer": "install Apptainer (https://apptainer.org/docs/admin/main/installation.html)",
    "openssl": "sudo apt-get install openssl",
    "crontab": "sudo apt-get install cron",
    "git": "sudo apt-get install git",
}

TAIL_LINES = 20


@dataclass(frozen=True)
class Completed:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def tail(self, n: int = TAIL_LINES) -> list[str]:
        lines = (self.stdout + self.stderr).splitlines()
        return lines[-n:]


def command_line(argv: Sequence[str | Path]) -> str:
    """The shell-quoted form of argv, for echoing and for --dry-run."""
    return shlex.join(str(a) for a in argv)


def require(program: str) -> str:
    """Absolute path of ``program`` or ToolMissingError with the install hint."""
    found = shutil.which(program)
    if found is None:
        raise ToolMissingError(
            f"'{program}' was not found on PATH",
            fix=INSTALL_HINTS.get(program, f"install {program}"),
        )
    return found


def run(
    argv: Sequence[str | Path],
    *,
    check: bool = True,
    capture: bool = True,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float | None = None,
    error: type[B2envError] = B2envError,
    fix: str | None = None,
    pass_fds: Sequence[int] = (),
) -> Completed:
    """Run argv; raise ``error`` (with evidence) when it fails and ``check`` is set."""
    args = [str(a) for a in argv]
    args[0] = require(args[0]) if "/" not in args[0] else args[0]
    log.debug("+ %s", command_line(argv))
    text = not isinstance(input, bytes)
    try:
        proc = subprocess.run(
            args,
            input=input,
            capture_output=capture,
            text=text,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            timeout=timeout,
            check=False,
            pass_fds=tuple(pass_fds),
        )
    except subprocess.TimeoutExpired as exc:
        raise error(
            f"'{command_line(argv)}' did not finish within {timeout:.0f} s",
            fix=fix,
        ) from exc
    done = Completed(args, proc.returncode, _text(proc.stdout), _text(proc.stderr))
    if check and proc.returncode != 0:
        raise error(
            f"'{command_line(argv)}' failed with exit code {proc.returncode}",
            evidence=done.tail(),
            fix=fix,
        )
    return done


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
