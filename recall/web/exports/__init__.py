from recall.web.exports.routes import blp

__all__ = ["blp"]
