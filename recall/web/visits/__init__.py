from recall.web.visits.routes import blp

__all__ = ["blp"]
