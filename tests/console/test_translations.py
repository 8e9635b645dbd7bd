"""Every word of the console in the five languages: each console package's catalog holds a real, non-fuzzy
translation in pl, ru, sv and zh of every word its views and templates use (English is the source), with the
same placeholders; and a page is served in the language its member picked."""

from __future__ import annotations

from pathlib import Path

import pytest

from recall.web.console.catalog_files import CATALOG_DIRS
from tests.console.helpers import post, text
from tools.catalogs import TRANSLATED, extract, missing, po_path, read

PACKAGES = {str(folder.parent.relative_to(Path(__file__).resolve().parents[2])): folder for folder in CATALOG_DIRS}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_word_of_the_package_is_translated_into_every_language(package):
    folder = PACKAGES[package]
    assert [m.id for m in extract(folder) if m.id], f"{package} has no words: is it extracted at all?"
    gaps = missing(folder)
    assert not gaps, f"{package}: untranslated (run python -m tools.catalogs and fill the .po files): {gaps}"


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_translation_drops_or_invents_a_placeholder(package):
    folder = PACKAGES[package]
    for language in TRANSLATED:
        path = po_path(folder, language)
        assert path.exists(), f"{package} has no {language} catalog: run python -m tools.catalogs"
        catalog = read(path, language)
        problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
        assert not problems, f"{package} {language}: {problems}"


def test_the_extraction_keeps_a_nested_package_out_of_its_parents_catalog():
    manager = next(folder for folder in CATALOG_DIRS if folder.parent.name == "manager")
    team_files = {
        location for message in extract(manager) for location, _ in message.locations if location.startswith("team")
    }
    assert not team_files


def test_a_page_comes_in_the_language_its_member_picked(console):
    client = console("operator")
    post(client, "/console/language", {"language": "ru"})
    page = text(client.get("/console/desk/"))
    assert 'lang="ru"' in page and "Выйти" in page
