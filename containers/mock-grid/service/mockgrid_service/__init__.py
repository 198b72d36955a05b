"""The b2env MOCK grid service: a small DIRAC-like job, file-catalog and storage service.

Not DIRAC. It authenticates clients by RFC 3820 proxies, keeps its state in SQLite, runs each
job's steering file with the mock basf2 of the mock CVMFS, and misbehaves on purpose when told
to (failure injection, seeded). Runs on Python >= 3.9 with ``cryptography``.
"""
