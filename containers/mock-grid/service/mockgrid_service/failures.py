"""Seeded misbehaviour: which attempt fails and how, how long each state lasts, which site a
job lands on. The same seed, project, job index and attempt always give the same answer."""

from __future__ import annotations

import random

from mockgrid_service.settings import Settings

SITES = ("LCG.KEK.jp", "LCG.KEK2.jp", "LCG.KIT.de", "LCG.Pisa.it", "LCG.Napoli.it",
         "ARC.SIGNET.si", "OSG.BNL.us")
# Seconds each stage lasts at time scale 1 (before the next transition).
DURATION = {"received": 2.0, "checking": 2.0, "waiting": 6.0, "matched": 3.0, "init": 2.0,
            "input": 2.0, "stallrun": 5.0, "stalled": 20.0, "completing": 2.0}
LONG_WAITING_FACTOR = 30.0


def plan(settings: Settings, project: str, index: int, rr: int) -> str:
    """The injected failure of one attempt (``none`` or one of ``settings.kinds``)."""
    rng = random.Random(f"{settings.seed}:{project}:{index}:{rr}")
    rate = settings.failure_rate * (settings.retry_failure_factor ** rr if rr else 1.0)
    kinds = {k: w for k, w in (settings.kinds or {}).items() if w > 0}
    if not kinds or rng.random() >= rate:
        return "none"
    names = sorted(kinds)
    return rng.choices(names, weights=[kinds[n] for n in names])[0]


def delay(settings: Settings, stage: str, planned: str) -> float:
    factor = LONG_WAITING_FACTOR if stage == "waiting" and planned == "long_waiting" else 1.0
    return DURATION[stage] * factor * settings.time_scale


def pick_site(settings: Settings, job: dict, options: dict) -> str | None:
    """A site from ``--site`` (default: all) minus ``--banned_site`` and sites that failed it."""
    allowed = list(options.get("sites") or SITES)
    banned = set(options.get("banned_sites") or [])
    banned |= set(filter(None, job["banned_sites"].split(",")))
    candidates = [s for s in allowed if s not in banned]
    if not candidates:
        return None
    rng = random.Random(f"{settings.seed}:{job['project']}:{job['idx']}:{job['rr']}:site")
    return rng.choice(candidates)
