from recall.web.patients.routes import blp

__all__ = ["blp"]
