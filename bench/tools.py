"""What the bench needs beyond the project's locked packages: Debian's wrk, and matplotlib."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEV_LOCK = REPO / "requirements" / "dev.txt"


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian's packages when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if not shutil.which("apt-get"):
        sys.exit("bench: wrk is missing and apt-get is not available: install wrk first")
    print("bench: installing wrk (apt-get)...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        sys.exit("bench: apt-get ran but wrk is still missing")
    return found


def ensure_matplotlib() -> None:
    """matplotlib (the `bench` extra), at the version locked in requirements/dev.txt."""
    if importlib.util.find_spec("matplotlib") is not None:
        return
    pin = re.search(r"^matplotlib==\S+", DEV_LOCK.read_text(), re.MULTILINE)
    spec = pin.group(0) if pin else "matplotlib"
    print(f"bench: installing {spec} (pip)...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", spec], check=True)


def wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (result.stdout or result.stderr).strip().splitlines()
    return first[0] if first else "wrk (unknown version)"
