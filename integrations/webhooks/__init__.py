"""Webhooks out: the HTTP sender behind ``recall.events.port`` (requests, signed with ``standardwebhooks``)."""
