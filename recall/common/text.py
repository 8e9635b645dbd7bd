"""Text a database can store: the one rule for what may not be written, shared by the web's input checks and
the patient's words that arrive by SMS.

PostgreSQL refuses NUL in text, and lone surrogates (which a JSON body or a form can carry, ``\\ud800``) cannot
be encoded as UTF-8 by any driver. Both sides must agree on what that means, so it is written once, here.
"""

from __future__ import annotations

import re

#: A character no database text column can hold: NUL, or half of a surrogate pair.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
