"""Adapters from recall's ports to outside providers (Twilio first)."""
