"""Imports every aggregate's tables so that the metadata is complete (for Alembic and tests)."""

from recall.attempts import ContactAttempt
from recall.bookings import Booking
from recall.catalog import Provider, Service
from recall.clinics import Clinic
from recall.credit import CreditEntry
from recall.patients import Patient
from recall.payplan import PayPlan, ServiceRate
from recall.recall_tasks import PatientClaim, RecallTask
from recall.reminder_policy import ReminderPolicy
from recall.reminders import Reminder
from recall.staff import ApiToken, Staff
from recall.visits import Visit

__all__ = ["ApiToken", "Booking", "ContactAttempt", "Clinic", "CreditEntry", "Patient", "PatientClaim", "PayPlan", "Provider", "RecallTask", "Reminder", "ReminderPolicy",
           "Service", "ServiceRate", "Staff", "Visit"]
