from recall.web.bookings.routes import blp

__all__ = ["blp"]
