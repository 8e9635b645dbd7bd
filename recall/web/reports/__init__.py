from recall.web.reports.routes import blp

__all__ = ["blp"]
