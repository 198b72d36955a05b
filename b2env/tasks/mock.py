"""`inv mock.*` tasks (being written)."""

from __future__ import annotations

from invoke import Collection

ns = Collection("mock")
