"""The unit tests, and the fixtures they use, load no Flask (see conftest.py here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

UNIT = Path(__file__).resolve().parent
REPO = UNIT.parents[1]


def test_the_unit_tests_and_their_fixtures_load_no_flask(tmp_path: Path) -> None:
    loaded = tmp_path / "loaded.txt"
    run = subprocess.run(
        # One process (-n 0), every unit test but this one, whatever the markers.
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-m", "slow or not slow"]
        + [
            "--deselect",
            f"{Path(__file__).relative_to(REPO)}::{test_the_unit_tests_and_their_fixtures_load_no_flask.__name__}",
        ]
        + [str(UNIT.relative_to(REPO))],
        cwd=REPO,
        env={**os.environ, "RECALL_LOADED_MODULES": str(loaded)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert loaded.read_text().split() == [], "tests/unit loaded the web layer; move the test that needs it to tests/api"
