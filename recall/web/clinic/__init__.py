from recall.web.clinic.routes import blp

__all__ = ["blp"]
