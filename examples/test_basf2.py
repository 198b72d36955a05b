# Create test script: test_basf2.py  (from the grid set-up tutorial: the first local check)
import basf2 as b2

path = b2.Path()
path.add_module('EventInfoSetter', evtNumList=[10])
path.add_module('Progress')
b2.process(path)
