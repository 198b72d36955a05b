"""b2env: reproducible containers for the Belle II grid workflow."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["BelleIIGridAnalysis", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "BelleIIGridAnalysis":
        from b2env.analysis import BelleIIGridAnalysis

        return BelleIIGridAnalysis
    raise AttributeError(name)
