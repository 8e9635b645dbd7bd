"""Answering machines: a voice reminder that reaches a machine has not reached the patient.

Why it is built this way:

* Calls ask the provider for answering-machine detection that waits for the greeting's end (so a message left
  starts after the beep), and it tells us who answered twice: when it fetches the call's script (``/voice``)
  and on the status callback. The adapter translates its verdict into an ``Answerer``
  (``integrations/twilio/reports.py``); both ask ``leaves_message`` the same question, so what the call did
  and what the reminder records agree.
* The policy chooses per step (``on_machine``): ``fallback`` hangs up, the call counts as failed ("machine") and
  the step's fallback runs (an SMS, an operator's call); ``voicemail`` leaves a short message and the call ends
  ``delivered`` / "voicemail", with no fallback. A fax, or a machine still playing its greeting
  (``Answerer.MACHINE``), cannot take a message: the fallback runs.
* The message is built in, not a template: a voicemail may be heard by anyone with access to the phone, so it
  names the clinic and asks the patient to call back, in their language, and nothing else (no date, no time,
  no provider, no service).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.clinic.patients import Language, Patient
from recall.reminders.delivery import Answerer
from recall.reminders.planning import Channel, OnMachine
from recall.reminders.reminders import Reminder, step_of
from recall.visits.bookings import ACTIVE, Booking

VOICEMAIL: dict[Language, str] = {
    Language.EN: "Hello, this is a message from {clinic}. Please call us back. Thank you.",
    Language.PL: "Dzień dobry, to wiadomość z {clinic}. Prosimy o kontakt zwrotny. Dziękujemy.",
    Language.RU: "Здравствуйте, это сообщение от {clinic}. Пожалуйста, перезвоните нам. Спасибо.",
    Language.SV: "Hej, det här är ett meddelande från {clinic}. Ring oss gärna tillbaka. Tack.",
    Language.ZH: "您好，这是来自{clinic}的留言。请给我们回电。谢谢。",
}


def leaves_message(session: Session, reminder: Reminder, answered_by: Answerer) -> bool:
    """Whether this call, answered by a machine, leaves a voicemail (else it hangs up and counts as failed)."""
    if answered_by is not Answerer.MACHINE_AFTER_GREETING:
        return False
    step = step_of(session, reminder)
    return step is not None and step.on_machine is OnMachine.VOICEMAIL


def voicemail_text(language: Language | str, clinic_name: str) -> str:
    return VOICEMAIL[Language(language)].replace("{clinic}", clinic_name)


def voicemail_script(session: Session, reminder_id: int, answered_by: Answerer) -> tuple[str, str] | None:
    """What to leave on the machine, in the patient's language: (text, language); None means hang up."""
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.channel is not Channel.VOICE or not leaves_message(session, reminder, answered_by):
        return None
    subject = call_subject(session, reminder)
    if subject is None:
        return None
    _, patient, clinic = subject
    language = Language(patient.language)
    return voicemail_text(language, clinic.name), language.value


def call_subject(session: Session, reminder: Reminder) -> tuple[Booking, Patient, Clinic] | None:
    """What a reminder call speaks of, while there is still a visit to remind of: its booking (still active), the
    patient and the clinic. None once the booking is gone: the call then says nothing about it."""
    booking = session.get(Booking, reminder.booking_id)
    patient = session.get(Patient, reminder.patient_id)
    clinic = session.get(Clinic, reminder.clinic_id)
    if booking is None or patient is None or clinic is None or booking.status not in ACTIVE:
        return None
    return booking, patient, clinic
