"""One error root for b2env: every failure says what failed, why, and the fix.

The CLI prints ``str(error)`` once and exits with ``error.exit_code``; no traceback unless
``--debug`` (or ``B2ENV_DEBUG=1``) is given.
"""

from __future__ import annotations

from collections.abc import Sequence


class B2envError(Exception):
    """Root of all expected failures. Subclasses only choose an exit code."""

    exit_code = 1

    def __init__(
        self,
        what: str,
        *,
        why: str | None = None,
        fix: str | None = None,
        evidence: Sequence[str] = (),
    ) -> None:
        super().__init__(what)
        self.what = what
        self.why = why
        self.fix = fix
        self.evidence = list(evidence)

    def __str__(self) -> str:
        lines = [f"error: {self.what}"]
        if self.why:
            lines.append(f"  why: {self.why}")
        if self.evidence:
            lines.append("  evidence:")
            lines.extend(f"    {line}" for line in self.evidence)
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


class ConfigError(B2envError):
    """Bad configuration file, key, type or value; bad task arguments."""

    exit_code = 2


class EngineError(B2envError):
    """Container engine missing, stopped or too old; a container run that failed to start."""

    exit_code = 3


class ImageError(B2envError):
    """Image cannot be pulled, bootstrapped, built or verified."""

    exit_code = 4


class CredentialError(B2envError):
    """Certificate or key problem: missing, bad mode, mismatch, expired, unreadable .p12."""

    exit_code = 5


class ProxyError(B2envError):
    """Proxy missing, expired, unreadable, without the group, or proxy creation failed."""

    exit_code = 6


class Basf2Error(B2envError):
    """A local basf2 run or steering-file check failed before basf2 could report it."""

    exit_code = 7


class GridError(B2envError):
    """A gbasf2 / grid operation failed or was refused."""

    exit_code = 8


class ToolMissingError(B2envError):
    """An external program b2env needs is not installed."""

    exit_code = 9
