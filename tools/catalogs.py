"""The console's catalogs, one per console package: extract each package's words and bring its ``.po`` files up
to date.

A package's catalog holds the words of its own views and templates, not those of a nested package with a catalog
of its own (manager/team has its own beside the manager's). English is the source language: a msgid is the
English text, so there is no ``en`` catalog.

    python -m tools.catalogs            # every catalog: add new words (empty), mark changed ones fuzzy, drop gone
    python -m tools.catalogs --check    # exit 1 and list what is missing a translation

The words package (``recall/web/console/words``) holds no page's words but the domain's and the API schemas'
refusals, which the console shows beside its fields: ``tools.refusals`` finds them.

tests/console/test_translations.py fails while any word of any page lacks a translation in pl, ru, sv or zh.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from recall.web.console.catalog_files import CATALOG_DIRS, LANGUAGES, WORDS
from tools import refusals

TRANSLATED = tuple(language for language in LANGUAGES if language != "en")
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_n": (1, 2)}


def package_of(catalog_dir: Path) -> Path:
    return catalog_dir.parent


def extract(catalog_dir: Path) -> Catalog:
    """The words of the package that owns ``catalog_dir``, without its nested packages' (those with catalogs)."""
    root = package_of(catalog_dir)
    nested = {package_of(other) for other in CATALOG_DIRS if package_of(other) != root}
    template = Catalog(project="recall console", fuzzy=False)

    def keep(directory: str) -> bool:
        path = Path(directory).resolve()
        return path not in nested and path.name not in ("translations", "__pycache__")

    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), METHODS, {}, KEYWORDS, directory_filter=keep
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    if catalog_dir == WORDS:
        for filename, lineno, message in refusals.extract_words():
            template.add(message, None, [(filename, lineno)])
    return template


def po_path(catalog_dir: Path, language: str) -> Path:
    return catalog_dir / language / "LC_MESSAGES" / "messages.po"


def read(path: Path, language: str) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=language)


def update(catalog_dir: Path) -> None:
    template = extract(catalog_dir)
    for language in TRANSLATED:
        path = po_path(catalog_dir, language)
        if path.exists():
            catalog = read(path, language)
            template.creation_date = catalog.creation_date  # no churn in a catalog whose words did not change
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
        else:
            catalog = Catalog(locale=language, project="recall console", fuzzy=False)
            catalog.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as target:
            write_po(target, catalog, width=120, sort_output=True, omit_header=False, include_previous=False)


def missing(catalog_dir: Path) -> dict[str, list[str]]:
    """Per language, the msgids of the package's words with no (or only a fuzzy) translation."""
    wanted = [message.id for message in extract(catalog_dir) if message.id]
    gaps: dict[str, list[str]] = {}
    for language in TRANSLATED:
        path = po_path(catalog_dir, language)
        catalog = read(path, language) if path.exists() else Catalog(locale=language)
        for msgid in wanted:
            found = catalog.get(msgid)
            text = found.string if found is not None else None
            done = bool(text) and (all(text) if isinstance(text, (list, tuple)) else True)
            if found is None or found.fuzzy or not done:
                gaps.setdefault(language, []).append(msgid if isinstance(msgid, str) else msgid[0])
    return gaps


def main(argv: list[str]) -> int:
    status = 0
    for catalog_dir in CATALOG_DIRS:
        if "--check" not in argv:
            update(catalog_dir)
        for language, ids in missing(catalog_dir).items():
            status = 1
            print(f"{catalog_dir.relative_to(Path.cwd())} {language}: {len(ids)} untranslated")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
