"""b2env MOCK CVMFS stand-in (not Belle II software): which releases are supported.

The tools read this file to answer ``b2help-releases`` and to warn about unsupported releases.
"""

RECOMMENDED = "release-08-00-00"
RECOMMENDED_LIGHT = "light-2511-gacrux"
SUPPORTED = ("release-08-00-00", "light-2511-gacrux")


def supported_release(release=None):
    """The release itself when it is supported, else the recommended one."""
    if release is None:
        return RECOMMENDED
    if release == "light":
        return RECOMMENDED_LIGHT
    if release in SUPPORTED:
        return release
    if release.startswith("light-"):
        return RECOMMENDED_LIGHT
    return RECOMMENDED
