from recall.web.recall_tasks.routes import blp

__all__ = ["blp"]
