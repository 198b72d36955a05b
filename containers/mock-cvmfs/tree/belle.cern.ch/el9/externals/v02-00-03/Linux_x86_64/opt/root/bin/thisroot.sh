# b2env MOCK CVMFS stand-in (not Belle II software): there is no ROOT here; uproot reads files.
ROOTSYS=$(cd -P "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd -P)
export ROOTSYS
