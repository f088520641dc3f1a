"""Files Loa keeps for itself: the instance folder, the SQLite database, the embedded Redis.

They hold personal data (phone numbers, MO texts), password hashes and the secrets key, so they
are the service user's alone: folders 0700, files 0600, whatever the process's umask. A file
or folder found wider (made by an older version, or by hand) is narrowed, with a warning.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | Path) -> Path:
    """Make `path` (and missing parents) a folder only its owner can enter."""
    folder = Path(path)
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    narrow(folder, DIR_MODE)
    return folder


def private_file(path: str | Path) -> Path:
    """Create `path` empty with mode 0600 unless it exists; narrow it if it does."""
    file = Path(path)
    try:
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        narrow(file, FILE_MODE)
    return file


def narrow(path: Path, mode: int) -> None:
    """Take away any permission beyond `mode` from a path this process's user owns."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid != os.getuid() or not stat.S_IMODE(info.st_mode) & ~mode:
        return
    os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
    log.warning("%s was readable by others (%o); now %o", path, stat.S_IMODE(info.st_mode),
                stat.S_IMODE(info.st_mode) & mode)
