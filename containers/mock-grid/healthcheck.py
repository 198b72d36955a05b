#!/usr/bin/env python3
"""Container health check of the b2env mock grid: healthy once /ping says the catalog is ready."""

import json
import os
import ssl
import sys
import urllib.request

CONFIG = os.environ.get("MOCK_GRID_CONFIG", "/etc/mock-grid")
PORT = os.environ.get("MOCK_GRID_PORT", "8443")


def main() -> int:
    context = ssl.create_default_context(cafile=os.path.join(CONFIG, "ca.pem"))
    try:
        with urllib.request.urlopen(f"https://localhost:{PORT}/ping", context=context, timeout=5) as r:
            answer = json.load(r)
    except (OSError, ValueError) as exc:
        print(f"mock grid not answering: {exc}")
        return 1
    print(json.dumps(answer))
    return 0 if answer.get("ready") else 1


if __name__ == "__main__":
    sys.exit(main())
