"""b2env MOCK CVMFS stand-in (not Belle II software): standard V0 lists (names only)."""

import modularAnalysis as ma


def stdKshorts(prioritiseV0=True, fitter="TreeFit", path=None, updateAllDaughters=False,
               writeOut=False, addSuffix=False):
    """Fill ``K_S0:merged`` (from V0s and from pion pairs, as the real helper names them)."""
    ma.fillParticleList("K_S0:V0 -> pi+ pi-", "", writeOut=writeOut, path=path)
    ma.fillParticleList("pi+:all", "", writeOut=writeOut, path=path)
    ma.reconstructDecay("K_S0:RD -> pi+:all pi-:all", "0.3 < M < 0.7", 1, writeOut=writeOut,
                        path=path)
    ma.copyLists("K_S0:merged", ["K_S0:V0", "K_S0:RD"], writeOut=writeOut, path=path)


def stdLambdas(prioritiseV0=True, fitter="TreeFit", path=None, **kwargs):
    ma.fillParticleList("Lambda0:V0 -> p+ pi-", "", path=path)
    ma.copyLists("Lambda0:merged", ["Lambda0:V0"], path=path)
