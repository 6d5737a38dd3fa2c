"""Where sam_stack keeps files it can fetch again (downloaded model weights): a per-user cache.

The folder follows each platform's convention, as ``platformdirs.user_cache_dir`` would give it,
without depending on that package:

- ``$SAM_STACK_CACHE`` when set (any platform), e.g. a shared or larger disk;
- Linux and other Unix: ``$XDG_CACHE_HOME/sam-stack``, by default ``~/.cache/sam-stack``;
- macOS: ``~/Library/Caches/sam-stack``;
- Windows: ``%LOCALAPPDATA%\\sam-stack\\Cache``.
"""

import os
import sys
from pathlib import Path

CACHE_ENV = "SAM_STACK_CACHE"
APP_NAME = "sam-stack"


def user_cache_dir() -> Path:
    """The cache folder for this user (not created here)."""
    if override := os.environ.get(CACHE_ENV):
        return Path(override).expanduser()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
        return Path(local) / APP_NAME / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    # The XDG specification says to ignore a relative XDG_CACHE_HOME.
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / APP_NAME
