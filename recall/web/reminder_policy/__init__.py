from recall.web.reminder_policy.routes import blp

__all__ = ["blp"]
