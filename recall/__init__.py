"""recall: wins patients back for clinics.

The domain and its use cases live in this package's modules and know nothing of
Flask, HTTP or Twilio; the web layer is ``recall.web``.
"""
