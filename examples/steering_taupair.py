#!/usr/bin/env python3
"""Tau-pair ntuple for e+e- -> tau+ tau-, 1x1-prong topology (one electron, one pion).

Inputs: none here. Locally pass mdst files with ``inv basf2.run steering_taupair.py -i FILE``;
on the grid gbasf2 supplies the dataset's files the same way. Output: ONE flat ntuple,
``taupair.root`` (tree ``tau``), one row per tau-pair candidate.

Optional steering-file argument: the maximal number of candidates per event (default 10).
"""

import sys

import basf2 as b2
import modularAnalysis as ma
import variables.utils as vu
from variables import collections as vc
from variables import variables as vm

max_candidates = int(sys.argv[1]) if len(sys.argv) > 1 else 10
main = b2.Path()

# The input list stays empty: -i (locally) or the grid dataset fills it.
ma.inputMdstList(filelist=[], path=main)

track_cuts = "abs(dr) < 1.0 and abs(dz) < 3.0 and pt > 0.1"
ma.fillParticleList("e+:taupair", f"{track_cuts} and electronID > 0.5", path=main)
ma.fillParticleList("pi+:taupair", f"{track_cuts} and electronID < 0.5 and muonID < 0.5",
                    path=main)

decay = "vpho:taupair -> e+:taupair pi-:taupair"
ma.reconstructDecay(decay, "", candidate_limit=max_candidates, path=main)

vm.addAlias("visibleEnergy", "formula(daughter(0, E) + daughter(1, E))")
daughters = vu.create_aliases_for_selected(
    vc.kinematics + ["electronID", "pionID"],
    "vpho:taupair -> ^e+:taupair ^pi-:taupair",
    prefix=["e", "pi"],
)
ma.variablesToNtuple(
    "vpho:taupair",
    variables=vc.inv_mass + ["visibleEnergy", "daughter(0, E)"] + daughters,
    filename="taupair.root",
    treename="tau",
    path=main,
)

b2.process(main)
print(b2.statistics)
