"""Read the client configuration (``pro/etc/dirac.cfg``, DIRAC CFG syntax)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional

PRO_DIR = Path(__file__).resolve().parents[3]


class Section(dict):
    """Nested ``name { key = value }`` blocks as dictionaries."""

    def get_path(self, path: str, default: Optional[str] = None) -> Optional[str]:
        node: object = self
        for part in path.split("/"):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node if isinstance(node, str) else default


def parse(text: str) -> Section:
    root = Section()
    stack: List[Section] = [root]
    pending: Optional[str] = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "{" and pending is not None:
            child = Section()
            stack[-1][pending] = child
            stack.append(child)
            pending = None
        elif line == "}":
            stack.pop()
        elif "=" in line:
            key, value = line.split("=", 1)
            stack[-1][key.strip()] = value.strip()
        else:
            pending = line
    return root


def config_file() -> Path:
    return Path(os.environ.get("DIRACSYSCONFIG") or PRO_DIR / "etc" / "dirac.cfg")


def load() -> Section:
    path = config_file()
    if not path.is_file():
        raise SystemExit(f"Error: gbasf2 client configuration {path} not found")
    return parse(path.read_text())


def service_url(cfg: Section) -> str:
    url = cfg.get_path("MockGrid/URL")
    if not url:
        raise SystemExit(f"Error: no MockGrid/URL in {config_file()}")
    return url.rstrip("/")


def users_by_dn(cfg: Section) -> Dict[str, str]:
    users = cfg.get("Registry", {}).get("Users", {})
    return {entry.get("DN", ""): name for name, entry in users.items() if isinstance(entry, dict)}


def groups_of(cfg: Section, username: str) -> List[str]:
    groups = cfg.get("Registry", {}).get("Groups", {})
    found = []
    for name, entry in groups.items():
        members = [m.strip() for m in entry.get("Users", "").split(",")]
        if username in members:
            found.append(name)
    return found


def group_properties(cfg: Section, group: str) -> str:
    return cfg.get_path(f"Registry/Groups/{group}/Properties", "NormalUser") or "NormalUser"
