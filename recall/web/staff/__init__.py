from recall.web.staff.routes import blp

__all__ = ["blp"]
