"""The demo: pictures drawn by code and the ``rap demo`` walk-through."""
