from recall.web.catalog.routes import blp

__all__ = ["blp"]
