"""Propagating objects through the frames of a stack with SAM v2's memory (``StackTracker``)."""

from .samurai import SamuraiSettings
from .tracker import StackTracker

__all__ = ["SamuraiSettings", "StackTracker"]
