"""The team pages and the launch refusal speak the member's language."""

from __future__ import annotations

import pytest

from recall.clinic.staff import Staff
from tests.console.helpers import text

pytestmark = pytest.mark.db


@pytest.mark.parametrize(
    ("language", "heading", "crm"),
    [
        ("pl", "Dodaj pracownika", "Sekret linków startowych"),
        ("zh", "添加员工", "启动密钥"),
        ("ru", "Добавить сотрудника", "Секрет ссылок запуска"),
        ("sv", "Lägg till en medarbetare", "Starthemlighet"),
    ],
)
def test_the_team_pages_speak_the_managers_language(console, database, world, language, heading, crm):
    with database.writer() as s:
        s.get_one(Staff, world.a.staff["manager"].id).language = language
        s.commit()
    client = console("manager")
    assert heading in text(client.get("/console/office/staff/"))
    assert crm in text(client.get("/console/office/staff/crm"))


def test_the_launch_refusal_speaks_the_language_asked_for(app):
    answer = app.test_client().get("/console/launch?lang=ru")
    assert answer.status_code == 403 and "Эта ссылка не открывает консоль" in text(answer)
