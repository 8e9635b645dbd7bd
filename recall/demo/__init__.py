"""A demo clinic: staff with tokens, providers, services, patients in five languages, and three weeks of work.

It goes through the same use cases as the API, so everything it makes obeys the rules.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from recall.clinic.catalog import create_provider, create_service
from recall.clinic.clinics import ClinicInput
from recall.clinic.opening import create_clinic
from recall.clinic.patients import create_patient
from recall.clinic.staff import create_staff, issue_token
from recall.common.actors import Actor, Role
from recall.common.clock import Clock, FixedClock
from recall.demo.history import HISTORY_DAYS, history
from recall.reminders.policy import replace_policy
from recall.visits.visits import CheckoutRequest, DeskBooking, FollowUp, check_in, checkout

STAFF = [
    ("Karin Lindqvist", Role.MANAGER, "karin@nordvik.example"),
    ("Agnieszka Nowak", Role.FRONTDESK, "agnieszka@nordvik.example"),
    ("Erik Johansson", Role.FRONTDESK, "erik@nordvik.example"),
    ("Olga Smirnova", Role.OPERATOR, "olga@nordvik.example"),
    ("Li Wei", Role.OPERATOR, "li.wei@nordvik.example"),
    ("Tomasz Wiśniewski", Role.OPERATOR, "tomasz@nordvik.example"),
]
PROVIDERS = [
    ("Dr. Anna Berg", "general practice"),
    ("Dr. Piotr Zieliński", "otolaryngology (ENT)"),
    ("Dr. Ivan Petrov", "cardiology"),
    ("Dr. Chen Jing", "dermatology"),
    ("Dr. Sara Holm", "dentistry"),
]
# (name, minutes, follow-up interval in days, value weight in the recall queue)
SERVICES = [
    ("General check-up", 30, 365, 1.0),
    ("ENT consultation", 20, 30, 1.0),
    ("Cardiology follow-up", 30, 90, 2.5),
    ("Dermatology check", 20, 180, 1.0),
    ("Dental hygiene", 45, 180, 1.5),
    ("Blood pressure control", 15, 30, 2.0),
]
# (name, language, phone as a patient would give it, zone if not the clinic's)
PATIENTS = [
    ("Astrid Andersson", "sv", "070-123 45 67", None),
    ("Lars Nilsson", "sv", "073-234 56 78", None),
    ("Maja Eriksson", "sv", "076-345 67 89", None),
    ("Johan Persson", "sv", "+46 72 456 78 90", None),
    ("Elsa Karlsson", "sv", "070-567 89 01", None),
    ("Nils Gustafsson", "sv", "073-678 90 12", None),
    ("Katarzyna Kowalska", "pl", "+48 512 345 678", None),
    ("Marek Wójcik", "pl", "+48 601 234 567", None),
    ("Zofia Kamińska", "pl", "+48 698 765 432", "Europe/Warsaw"),
    ("Paweł Lewandowski", "pl", "+48 505 111 222", None),
    ("Joanna Dąbrowska", "pl", "+48 723 456 789", None),
    ("Anna Szymańska", "pl", "+48 880 123 456", None),
    ("Дмитрий Иванов", "ru", "+7 912 345-67-89", None),
    ("Наталья Кузнецова", "ru", "+7 916 123-45-67", None),
    ("Сергей Попов", "ru", "+7 903 765-43-21", "Europe/Moscow"),
    ("Екатерина Соколова", "ru", "+7 921 555-44-33", None),
    ("Алексей Морозов", "ru", "+46 70 987 65 43", None),
    ("Мария Волкова", "ru", "+7 985 222-33-44", None),
    ("王芳", "zh", "+86 138 0013 8000", "Asia/Shanghai"),
    ("李娜", "zh", "+86 139 1234 5678", None),
    ("张伟", "zh", "+46 76 111 22 33", None),
    ("刘洋", "zh", "+86 186 0000 1111", None),
    ("陈静", "zh", "+86 150 2222 3333", None),
    ("杨磊", "zh", "+46 73 444 55 66", None),
    ("Emily Clarke", "en", "+44 7911 123456", "Europe/London"),
    ("James Wilson", "en", "+44 7400 123456", None),
    ("Olivia Brown", "en", "+46 70 222 33 44", None),
    ("Michael Taylor", "en", "+1 415 555 2671", "America/New_York"),
    ("Sophie Martin", "en", "+46 72 888 99 00", None),
    ("Daniel Evans", "en", "+44 7400 654321", None),
]


DEMO_POLICY = {
    "steps": [
        {"offset_minutes": 24 * 60, "channel": "frontdesk_call", "routine": False},
        {"offset_minutes": 120, "channel": "sms"},
    ]
}


def load_demo(session: Session, clock: Clock) -> str:
    now = clock.now()
    clinic = create_clinic(
        session,
        clock,
        ClinicInput(name="Nordvik Family Clinic", timezone="Europe/Stockholm", phone_region="SE", currency="SEK"),
    )
    lines = [f"demo clinic {clinic.id}: {clinic.name} ({clinic.timezone}); API tokens, shown once:"]
    actors: dict[Role, list[Actor]] = {r: [] for r in Role}
    for name, role, email in STAFF:
        member = create_staff(session, clock, Actor.system(clinic.id), name=name, role=role, email=email)
        secret = issue_token(session, clock, member, "demo").secret
        actors[role].append(Actor(staff_id=member.id, clinic_id=clinic.id, role=role))
        lines.append(f"  {role.value:<9} {name:<20} {secret}")
    providers = [
        create_provider(session, clock, Actor.system(clinic.id), {"name": n, "specialty": s}) for n, s in PROVIDERS
    ]
    services = [
        create_service(
            session,
            clock,
            Actor.system(clinic.id),
            {"name": n, "duration_minutes": d, "follow_up_interval_days": f, "value_weight": w},
        )
        for n, d, f, w in SERVICES
    ]
    patients = [
        create_patient(
            session,
            clock,
            Actor.system(clinic.id),
            {"full_name": n, "language": lang, "phone": phone, **({"timezone": tz} if tz else {})},
        )
        for n, lang, phone, tz in PATIENTS
    ]
    # The desk calls the day before a visit, an SMS follows two hours ahead: reminder calls for the desk to make.
    replace_policy(session, clock, actors[Role.MANAGER][0], DEMO_POLICY)
    made = history(session, clock, clinic, actors, providers, services)  # first: today's work comes after it
    # Today's visits at the desk: some book their follow-up, some leave without one.
    desk = actors[Role.FRONTDESK][0]
    outcomes = [FollowUp.BOOKED, FollowUp.UNDECIDED, FollowUp.DECLINED, FollowUp.NOT_NEEDED]
    for i, patient in enumerate(patients[:12]):
        provider, service = providers[i % len(providers)], services[i % len(services)]
        visit = check_in(session, clock, desk, patient_id=patient.id, provider_id=provider.id, service_id=service.id)
        follow_up = outcomes[i % len(outcomes)]
        booking = None
        if follow_up is FollowUp.BOOKED:
            start = (now + timedelta(days=14 + i)).replace(hour=8, minute=0, second=0, microsecond=0)
            booking = DeskBooking(start_at=start, provider_id=provider.id, service_id=service.id)
        checkout(session, clock, desk, visit.id, CheckoutRequest(follow_up=follow_up, booking=booking))
    # Earlier visits whose patients left undecided: their recall work is due now, for the operators' queue.
    for i, patient in enumerate(patients[12:24]):
        provider, service = providers[i % len(providers)], services[(i % 3) * 2 + 1]  # ENT, dermatology, BP
        then = FixedClock(now - timedelta(days=200 + 7 * i))
        visit = check_in(session, then, desk, patient_id=patient.id, provider_id=provider.id, service_id=service.id)
        checkout(session, then, desk, visit.id, CheckoutRequest(follow_up=outcomes[1 + i % 2]))
    lines.append(
        f"  {len(providers)} providers, {len(services)} services, {len(patients)} patients in en/pl/ru/sv/zh,"
        " 12 visits checked out today (recall tasks open for the undecided and declined),"
        " 12 overdue recall tasks from earlier visits"
    )
    lines.append(
        f"  the last {HISTORY_DAYS} days: {made['visits']} visits, {made['attempts']} operator calls,"
        f" {made['bookings']} bookings ({made['attended']} attended); {made['today']} bookings on today's schedule"
    )
    return "\n".join(lines)
