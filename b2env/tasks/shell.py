"""`inv shell.*` tasks (being written)."""

from __future__ import annotations

from invoke import Collection

ns = Collection("shell")
