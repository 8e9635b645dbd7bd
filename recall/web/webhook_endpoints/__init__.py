from recall.web.webhook_endpoints.routes import blp

__all__ = ["blp"]
