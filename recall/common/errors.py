"""The domain's one error hierarchy. The web layer maps it to HTTP in one place."""

from __future__ import annotations


class RecallError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = dict(fields or {})
        if field:
            self.fields.setdefault(field, []).append(message)


class ValidationError(RecallError):
    """The input breaks a rule: names the field and the problem (422)."""

    code = "validation_error"


class Unauthenticated(RecallError):
    code = "unauthenticated"


class Forbidden(RecallError):
    """The caller is known but their role may not do this (403)."""

    code = "forbidden"


class NotFound(RecallError):
    """Missing, or belongs to another clinic: the two are indistinguishable (404)."""

    code = "not_found"

    def __init__(self, what: str, ident: object | None = None):
        super().__init__(f"{what} {ident} not found" if ident is not None else f"{what} not found")


class Conflict(RecallError):
    """The request clashes with the current state (409)."""

    code = "conflict"


class RateLimited(RecallError):
    code = "rate_limited"
