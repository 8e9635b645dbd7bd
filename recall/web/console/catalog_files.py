"""The console's catalogs as files: where each package keeps its ``.po``, and compiling them to ``.mo``.

Only Babel and the standard library here: ``setup.py`` loads this file by its path to compile the catalogs at
install, before any of the service's dependencies are importable, and the app compiles what is out of date at
start (a checkout whose catalogs changed since its install).
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "pl", "ru", "sv", "zh")
LANGUAGE_NAMES = {"en": "English", "pl": "Polski", "ru": "Русский", "sv": "Svenska", "zh": "中文"}
CONSOLE = Path(__file__).resolve().parent
#: The domain's and the API schemas' refusals (``recall.web.console.words``), shown beside the console's fields.
WORDS = CONSOLE / "words" / "translations"
#: Every console package's catalog folder; each blueprint keeps the words of its own templates and views. The
#: words come first: where a page's own catalog says the same English otherwise, the page's wins.
CATALOG_DIRS = [WORDS, CONSOLE / "translations"] + [
    CONSOLE / part / "translations" for part in ("access", "operator", "frontdesk", "manager", "manager/team")
]


def compile_catalogs(dirs: list[Path] | None = None) -> list[Path]:
    """Compile every ``.po`` under ``dirs`` whose ``.mo`` is missing or older; the files written."""
    written = []
    for folder in dirs or CATALOG_DIRS:
        for po in folder.glob("*/LC_MESSAGES/messages.po"):
            mo = po.with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            partial = mo.with_name(f"messages.mo.{os.getpid()}")
            try:
                with partial.open("wb") as target:
                    write_mo(target, catalog, use_fuzzy=False)
                os.replace(partial, mo)  # another process compiling at once writes the same bytes
            except OSError:  # an installed, read-only package: its catalogs were compiled at install
                partial.unlink(missing_ok=True)
                continue
            written.append(mo)
    return written
