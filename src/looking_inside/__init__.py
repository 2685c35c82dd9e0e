"""Train the article's networks and render its figures at build time."""

from looking_inside.errors import BuildError

__all__ = ["BuildError"]
__version__ = "0.1.0"
