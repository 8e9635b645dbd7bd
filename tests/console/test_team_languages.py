"""The team pages and the launch refusal speak the member's language."""

from __future__ import annotations

import pytest

from recall.clinic.staff import Staff
from tests.console.helpers import post, text

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


def test_a_refusal_beside_a_field_is_in_the_managers_language(console, database, world):
    with database.writer() as s:
        s.get_one(Staff, world.a.staff["manager"].id).language = "zh"
        s.commit()
    client = console("manager")
    answer = post(client, "/console/office/staff/", {"name": "Nora", "role": "operator", "email": "nope"})
    assert answer.status_code == 422
    assert 'id="email-error" role="alert">请输入电子邮箱地址' in text(answer)
    me = world.a.staff["manager"].id
    refused = post(client, f"/console/office/staff/{me}/active", {"active": "no"})
    assert 'id="active-error" role="alert">您不能停用自己。' in text(refused)
    origins = post(client, "/console/office/staff/crm/origins", {"frame_origins": "http://crm.example.com"})
    assert "“http://crm.example.com”不是类似" in text(origins)
