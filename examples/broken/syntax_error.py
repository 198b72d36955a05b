# Broken on purpose: does not parse (missing closing parenthesis).
import basf2 as b2

path = b2.Path(
path.add_module('EventInfoSetter', evtNumList=[10])
b2.process(path)
