"""Imports every aggregate's tables so that the metadata is complete (for Alembic and tests)."""

from recall.clinic.catalog import Provider, Service
from recall.clinic.clinics import Clinic
from recall.clinic.ehr import EhrLink, EhrNotification, EhrResourceId, IntegrationToken
from recall.clinic.integration import ClinicIntegration, LaunchNonce
from recall.clinic.patients import Patient
from recall.clinic.signin import ConsoleSession, StaffLink
from recall.clinic.staff import ApiToken, Staff
from recall.credit.ledger import CreditEntry
from recall.credit.payplan import PayPlan, ServiceRate
from recall.events.tables import OutboxEvent, WebhookDelivery, WebhookEndpoint
from recall.queue.attempts import ContactAttempt
from recall.queue.targets import Target
from recall.queue.tasks import PatientClaim, RecallTask
from recall.reminders.inbound import WebhookReceipt
from recall.reminders.pacing import SendPacer
from recall.reminders.policy_versions import ReminderPolicy
from recall.reminders.reminders import Reminder
from recall.reminders.replans import ReplanRun
from recall.visits.booking import Booking
from recall.visits.visit import Visit

__all__ = [
    "ApiToken",
    "Booking",
    "ClinicIntegration",
    "ConsoleSession",
    "ContactAttempt",
    "Clinic",
    "CreditEntry",
    "EhrLink",
    "EhrNotification",
    "EhrResourceId",
    "IntegrationToken",
    "LaunchNonce",
    "OutboxEvent",
    "Patient",
    "PatientClaim",
    "PayPlan",
    "Provider",
    "RecallTask",
    "Reminder",
    "ReplanRun",
    "ReminderPolicy",
    "SendPacer",
    "Service",
    "ServiceRate",
    "Staff",
    "StaffLink",
    "Target",
    "Visit",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookReceipt",
]
