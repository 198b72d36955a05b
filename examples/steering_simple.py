# steering_simple.py  (verbatim from the grid set-up tutorial; it does not run as written:
# 'tau+:selected' is never filled, taus are not final-state particles, and the input file is
# hard-coded -- inv basf2.check and inv basf2.run show all three)
import basf2 as b2

path = b2.Path()

# Input
path.add_module('RootInput', inputFileNames=['input.root'])

# Analysis modules
path.add_module('ParticleLoader', decayStrings=['tau+:all'])
path.add_module('ParticleSelector', 
                decayString='tau+:selected',
                cut='pt > 0.5')

# Output
path.add_module('RootOutput', 
                outputFileName='output.root',
                branchNames=['TauPairs'])

b2.process(path)
