"""Client side of the b2env MOCK grid: stand-ins for the gbasf2 command-line tools.

This is not BelleDIRAC. The commands keep the real names, options, output layouts and exit
behaviour (as documented for gbasf2) and talk HTTPS, authenticated by an RFC 3820 proxy, to
the mock grid service of b2env. Runs on Python >= 3.9 with ``cryptography``.
"""
