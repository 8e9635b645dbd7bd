from recall.web.privacy.routes import blp

__all__ = ["blp"]
