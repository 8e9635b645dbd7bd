from recall.web.reminders.routes import blp

__all__ = ["blp"]
