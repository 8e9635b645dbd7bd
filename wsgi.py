"""The WSGI entry point: ``flask --app wsgi ...`` and any WSGI server (``waitress-serve wsgi:app``) load ``app``.

The settings come from the environment (RECALL_ENV and the variables documented in ``config``) when it is imported.
"""

from recall.web import create_app

app = create_app()
