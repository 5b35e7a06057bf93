"""The bench waits for a server to finish what the previous run left it before measuring."""

import subprocess
import sys
import time
from pathlib import Path

from bench.servers import IDLE_WINDOW, Server

# Busy for BUSY seconds of CPU, then asleep: a server hashing for clients that are gone.
BUSY = 0.6
SCRIPT = f"""
import time
end = time.process_time() + {BUSY}
while time.process_time() < end:
    pass
time.sleep(60)
"""


def test_wait_idle_returns_once_the_server_stops_burning_cpu(tmp_path: Path) -> None:
    server = Server("busy", [sys.executable, "-c", SCRIPT], {}, tmp_path / "busy.log")
    server.process = subprocess.Popen([sys.executable, "-c", SCRIPT], start_new_session=True)
    try:
        time.sleep(0.05)
        waited = server.wait_idle(timeout=10)
        burnt = server.cpu_seconds()
        assert burnt >= BUSY - 0.05, burnt  # it did wait for the work to end
        assert waited < BUSY + 4 * IDLE_WINDOW + 1.0, waited  # and not much longer
        assert server.wait_idle() < 2 * IDLE_WINDOW + 0.1  # an idle server: one window
    finally:
        server.stop()
