from recall.web.integration.routes import blp

__all__ = ["blp"]
