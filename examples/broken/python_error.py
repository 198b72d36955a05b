# Broken on purpose: a plain Python error in the user's own code (a typo in a variable name).
import basf2 as b2

path = b2.Path()
path.add_module('EventInfoSetter', evtNumList=[10])
events_per_run = 10
print("runs:", events_per_runs // 5)
b2.process(path)
