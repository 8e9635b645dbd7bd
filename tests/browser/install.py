"""Debian's Chromium for the browser tests: found, or installed with apt-get when this runs as root.

The README's test command runs the whole suite, browser tests included, on a fresh machine: the suite's
``pytest_configure`` (tests/conftest.py) calls ``ensure_chromium`` once, before any test. Where the browser
cannot be had, it says so loudly and every browser test fails (it is never skipped), so CI fails too.
"""

from __future__ import annotations

import os
import shutil
import subprocess

CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str | None:
    return CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")


def ensure_chromium() -> tuple[str | None, str]:
    """The browser's path (None if it cannot be had) and what was done or why it failed."""
    found = chromium_path()
    if found:
        return found, f"chromium at {found}"
    if shutil.which("apt-get") is None:
        return None, "chromium is not installed and this machine has no apt-get to install it"
    if os.geteuid() != 0:
        return None, "chromium is not installed; install it as root: apt-get install -y chromium"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return None, f"`{' '.join(command)}` failed ({done.returncode}): {' / '.join(tail)}"
    found = chromium_path()
    return (found, f"installed chromium at {found}") if found else (None, "apt-get installed no chromium binary")
