# Broken on purpose: EventInfoSetter has no parameter 'evtNum' (it is evtNumList).
import basf2 as b2

path = b2.Path()
path.add_module('EventInfoSetter', evtNum=[10])
b2.process(path)
