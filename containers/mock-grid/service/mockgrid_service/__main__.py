"""``python3 -m mockgrid_service``: seed the catalog once, start the job engine, serve HTTPS."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from mockgrid_service import seed, server, settings


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = settings.load()
    grid = server.Grid(config)
    https = server.serve(grid)
    seed.seed_catalog(config, grid.db, grid.catalog)
    grid.ready.set()
    logging.getLogger("mockgrid").info(
        "ready: failure rate %.2f, seed %d, time scale %.3f", config.failure_rate, config.seed,
        config.time_scale,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = threading.Thread(target=grid.jobs.run_engine, name="engine", daemon=True)
    engine.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    grid.jobs.stop.set()
    https.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
