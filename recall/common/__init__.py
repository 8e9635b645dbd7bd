"""The plumbing every area stands on; it imports nothing from them.

- `db`: the declarative base, UTC timestamps, engines, sessions and the dialect's locking.
- `clock`: time as an argument (the system clock and a fixed one for tests).
- `errors`: the domain's one error hierarchy, mapped to HTTP by the web package.
- `actors`: who is calling (a staff member, their role and clinic, or the system).
- `timeutil`: zones, local days and calling hours.
- `phones`: phone numbers parsed once, at the edge, into E.164.
- `pagination`: pages of query results.
- `text`: what text can be stored (the pattern the web's input check and SMS cleaning share).
"""
