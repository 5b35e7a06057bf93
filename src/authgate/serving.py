"""How `authgate serve` runs uvicorn: its options, and a fresh folder for the workers' metrics."""

import shutil
from pathlib import Path
from typing import Any

from authgate.settings import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """`uvicorn.run` options for `authgate serve`, beside the app, address and workers."""
    return {
        "loop": "uvloop",
        # By import path: each worker process imports it (a class would have to be pickled).
        "http": "authgate.protocol:GuardedHttpToolsProtocol",
        "timeout_keep_alive": settings.keep_alive_timeout,
        # authgate judges X-Forwarded-* itself, from AUTHGATE_TRUSTED_PROXIES only.
        "proxy_headers": False,
        "server_header": False,
        "access_log": False,
        # authgate.logs formats every logger's lines, uvicorn's included (one format). The
        # level must still be set: uvicorn traces every connection and request unless its
        # loggers have a level of their own (an unset one reads as "trace").
        "log_config": None,
        "log_level": settings.log_level,
    }


def metrics_folder(data_dir: Path) -> Path:
    """A fresh, empty folder for the workers' metrics: counts start at zero, and a previous
    run's files (its pids may be reused) never add to them."""
    folder = (data_dir / "metrics").absolute()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
