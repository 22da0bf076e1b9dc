"""Where irkit keeps its state: ``IRKIT_HOME`` or the user's data dir."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "IRKIT_HOME"
DB_NAME = "irkit.db"


def irkit_home() -> Path:
    """The state folder: ``$IRKIT_HOME`` if set, else the platform's user data dir."""
    env = os.environ.get(ENV_HOME)
    if env:
        home = Path(env).expanduser()
    else:
        import platformdirs

        home = Path(platformdirs.user_data_dir("irkit", appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def default_db_path() -> Path:
    return irkit_home() / DB_NAME
