"""The EHR over FHIR: a Bundle endpoint (``routes``), the EHR's signed notifications (``notify``), and the
manager's integration tokens and EHR secret (``wiring``); ``applying`` runs the mapped records through the
import engine (``recall.imports.apply``), the same use cases staff use."""

from recall.web.fhir import notify, routes, wiring

BLUEPRINTS = (routes.blp, notify.blp, wiring.blp)
