"""The interactive API docs, served from the swagger-ui-bundle package: no CDN, works offline."""

from __future__ import annotations

from flask import Blueprint, Flask
from swagger_ui_bundle import swagger_ui_path


def register(app: Flask) -> None:
    assets = Blueprint("swagger_assets", __name__, static_folder=swagger_ui_path, static_url_path="/api/v1/docs/static")
    app.register_blueprint(assets)
