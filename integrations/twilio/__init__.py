"""Twilio adapter: the SDK-backed gateway, TwiML builders, webhook signatures and a local stand-in.

Import the submodules directly (``integrations.twilio.client``, ``.twiml``, ``.signatures``,
``.standin``) so that using one part does not load the others.
"""
