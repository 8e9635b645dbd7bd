"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from recall.web.common import database


def register(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, Any], int]:
        try:
            with database().reader() as s:
                s.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            return {"status": "unavailable", "database": type(exc).__name__}, 503
        return {"status": "ok", "database": database().dialect}, 200
