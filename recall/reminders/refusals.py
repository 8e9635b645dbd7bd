"""What a send refused for good says about the patient, written once for both places that learn of one.

The sender learns it from the provider's answer to a request (``dispatch``), a status callback from a
delivery that failed afterwards (``inbound``). Either way the same thing follows: a recipient who opted out at
the provider (they replied STOP, so it blocks every SMS to them) no longer consents to SMS, and a number the
provider says cannot be sent to is flagged, so no further reminder tries it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from recall.clinic.patients import Patient
from recall.reminders.delivery import SendFailure


def refused_for_good(session: Session, patient_id: int, failure: SendFailure | None, now: datetime) -> None:
    """Record on the patient what ``failure`` says about them, if anything (the caller commits)."""
    if failure not in (SendFailure.OPTED_OUT, SendFailure.INVALID_PHONE):
        return
    patient = session.get(Patient, patient_id)
    assert patient is not None
    if failure is SendFailure.OPTED_OUT:
        patient.consent_sms, patient.updated_at = False, now
    else:
        patient.phone_invalid, patient.updated_at = True, now
