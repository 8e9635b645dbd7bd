from recall.web.earnings.routes import blp

__all__ = ["blp"]
