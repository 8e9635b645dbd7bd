from recall.web.imports.routes import blp

__all__ = ["blp"]
