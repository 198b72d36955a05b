# Broken on purpose: the module name is misspelt (EventInfoSeter).
import basf2 as b2

path = b2.Path()
path.add_module('EventInfoSeter', evtNumList=[10])
b2.process(path)
