"""b2env MOCK CVMFS stand-in (not Belle II software): ``basf2 --version-short``."""

from basf2.version import get_release

if __name__ == "__main__":
    print(get_release())
