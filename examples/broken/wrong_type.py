# Broken on purpose: evtNumList takes integers, not a string.
import basf2 as b2

path = b2.Path()
path.add_module('EventInfoSetter', evtNumList='ten')
b2.process(path)
