# Broken on purpose: nothing provides EventMetaData (no EventInfoSetter, no RootInput).
import basf2 as b2

path = b2.Path()
path.add_module('Progress')
b2.process(path)
