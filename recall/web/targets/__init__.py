from recall.web.targets.routes import blp

__all__ = ["blp"]
