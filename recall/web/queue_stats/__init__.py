from recall.web.queue_stats.routes import blp

__all__ = ["blp"]
