"""How recall's processes log: one JSON object per line in production, readable lines in development, through
the standard ``logging`` module.

The lines carry ids, never patient data: a name, a phone, an SMS text or a token has no place in any message or
field (the callers log ids and outcomes; the request log writes the route's template, never the path or the
query string). ``configure`` is called once by each process's entry point (the app factory, ``recall worker``);
the test settings leave logging as pytest set it.
"""

from __future__ import annotations

import logging
import sys
from typing import IO, Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text", "none"]
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_OURS = "_recall_handler"  # marks the handler ``configure`` installs, so a second call replaces it


class LineFormatter(JsonFormatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, then the record's extra fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )


def configure(level: str, fmt: LogFormat, stream: IO[str] | None = None) -> None:
    """Send the root logger's records at ``level`` and above to ``stream`` (stderr) as JSON lines or text;
    ``none`` leaves logging alone. Calling it again replaces what it installed, and nothing else."""
    if fmt == "none":
        return
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LineFormatter() if fmt == "json" else logging.Formatter(TEXT))
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The scheduler logs every run of every job at INFO (each second): its warnings and errors are enough.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
