"""Debian's Chromium for the browser tests: found, or installed with apt-get when this runs as root; and a
Chinese font, so the screenshots of the console in Chinese show words rather than empty boxes.

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


CJK_FONT = "fonts-wqy-zenhei"


def has_chinese_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=60, check=False)
    return bool(listed.stdout.strip())


def _apt_install(packages: list[str]) -> str | None:
    """None when installed, else why not."""
    if shutil.which("apt-get") is None:
        return f"{' '.join(packages)} not installed and this machine has no apt-get to install it"
    if os.geteuid() != 0:
        return f"{' '.join(packages)} not installed; install as root: apt-get install -y {' '.join(packages)}"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return f"`{' '.join(command)}` failed ({done.returncode}): {' / '.join(tail)}"
    return None


def ensure_chromium() -> tuple[str | None, str]:
    """The browser's path (None if it cannot be had) and what was done or why it failed. A missing Chinese font
    is installed too, but only warned about: it changes the screenshots, not what the tests check."""
    wanted = ([] if chromium_path() else ["chromium"]) + ([] if has_chinese_font() else [CJK_FONT])
    failed = _apt_install(wanted) if wanted else None
    found = chromium_path()
    if found is None:
        return None, failed or "apt-get installed no chromium binary"
    said = f"chromium at {found}"
    return found, said + (f"; warning: {failed} (Chinese screenshots show boxes)" if failed else "")
