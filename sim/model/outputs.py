"""Safe outputs: text a terminal cannot misread, JSON without NaN or Infinity, files written atomically.

Everything the CLI prints or writes goes through here, because scenario files are user input: a component name
may hold an escape sequence, a metric may be infinite, and a reader may open a rows file while it is written.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def printable(text: str) -> str:
    """``text`` with every control character (escape, newline, carriage return, ...) shown as an escape."""
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)


def finite(value: Any) -> Any:
    """A copy of plain data (dicts, lists, numbers) with NaN and infinities replaced by None (JSON's null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    if hasattr(value, "item") and callable(value.item):  # a numpy scalar
        return finite(value.item())
    return value


def to_json(value: Any, indent: int | None = 2) -> str:
    """Strict JSON: non-finite numbers become null, and anything else non-finite is refused (``allow_nan``)."""
    return json.dumps(finite(value), indent=indent, allow_nan=False, default=str)


def check_writable(path: str | Path, suffixes: tuple[str, ...] | None = None) -> None:
    """Fail now, before any work, if ``path`` cannot be written: missing folder, no permission, wrong suffix.

    Raises:
        ValueError: why the file cannot be written, naming it.
    """
    target = Path(path)
    if suffixes is not None and target.suffix.lower() not in suffixes:
        raise ValueError(f"cannot tell the format of {str(path)!r}: use one of {', '.join(suffixes)}")
    folder = target.parent
    if not folder.is_dir():
        raise ValueError(f"cannot write {str(path)!r}: the folder {str(folder)!r} does not exist")
    if target.is_dir():
        raise ValueError(f"cannot write {str(path)!r}: it is a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{target.name}.", suffix=".check"):
            pass
    except OSError as error:
        raise ValueError(f"cannot write in the folder of {str(path)!r} ({error.strerror})") from None


def write_atomically(path: str | Path, data: bytes | str) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, then a rename over the target.

    A reader never sees a half-written file, and of two writers the last rename wins with a complete file.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a results file is an ordinary file
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
