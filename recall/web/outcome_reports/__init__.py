from recall.web.outcome_reports.routes import blp

__all__ = ["blp"]
