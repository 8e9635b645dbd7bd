"""tests/unit runs without Flask: the check that keeps it so.

The unit tests are the rules on their own. They import no Flask, no recall.web and no app factory, neither
directly nor through a fixture they use, so that the domain stays importable and testable without the web layer.
test_no_flask.py runs them in a process of their own with ``RECALL_LOADED_MODULES`` naming a file; this hook
writes there, at the end of that run, the web modules that got loaded (none, if all is well).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# What the unit tests must not load; flask_smorest and recall.web bring Flask with them.
WEB_MODULES = ("flask", "flask_smorest", "recall.web")


def web_modules_loaded() -> list[str]:
    return sorted(name for name in sys.modules if any(name == m or name.startswith(f"{m}.") for m in WEB_MODULES))


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Only in the run test_no_flask.py starts: a whole-suite run loads Flask for tests/api, rightly.
    if target := os.environ.get("RECALL_LOADED_MODULES"):
        Path(target).write_text("\n".join(web_modules_loaded()))
