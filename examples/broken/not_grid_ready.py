# Runs locally, but is not ready for the grid: a hard-coded absolute input path, an output in
# another directory, and an output that is not a ROOT file.
import basf2 as b2
import modularAnalysis as ma

main = b2.Path()
ma.inputMdstList(filelist=["/group/belle2/users/someone/mdst_000001.root"], path=main)
ma.fillParticleList("pi+:all", "", path=main)
ma.variablesToNtuple("pi+:all", variables=["p"], filename="/tmp/pions.root", path=main)
ma.variablesToNtuple("pi+:all", variables=["E"], filename="pions.txt", path=main)
b2.process(main)
