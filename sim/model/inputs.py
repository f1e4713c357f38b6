"""Reading files a scenario names, safely: regular files only, sizes checked before reading, paths kept inside.

A scenario file may name a trace beside it. That name is resolved inside the scenario's folder and nowhere else
(never absolute, never ``..``, never through a link that leads out), and the file must be a regular file (not a
device, a FIFO or a folder) no larger than the limit, checked before a byte is read. Reads stop at the limit even
if the file grows meanwhile (or reports no size, as ``/proc`` files do).
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path, PurePath
from typing import Any


class InputFileError(ValueError):
    """A file cannot be read as input; the message says why without showing its contents."""


class _BoundedRaw(io.RawIOBase):
    """A raw file reader that refuses to return more than ``limit`` bytes in all."""

    def __init__(self, descriptor: int, limit: int, label: str) -> None:
        self.descriptor = descriptor
        self.remaining = limit
        self.limit = limit
        self.label = label

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self.remaining + 1)
        data = os.read(self.descriptor, wanted)
        if len(data) > self.remaining:
            raise InputFileError(f"{self.label} is larger than {self.limit:,} bytes")
        view[:len(data)] = data
        self.remaining -= len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self.descriptor)
        super().close()


def open_regular_file(path: str | Path, max_bytes: int, label: str) -> io.BufferedReader:
    """A binary stream over a regular file no larger than ``max_bytes`` (checked before reading and while reading).

    Opening never blocks (a FIFO is refused, not waited on). Raises InputFileError naming ``label``.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise InputFileError(f"cannot read {label} ({error.strerror})") from None
    except ValueError:  # a NUL byte in the name
        raise InputFileError(f"cannot read {label} (not a valid file name)") from None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise InputFileError(f"cannot read {label}: not a regular file")
        if status.st_size > max_bytes:
            raise InputFileError(f"{label} is too large ({status.st_size:,} bytes; at most {max_bytes:,})")
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return io.BufferedReader(_BoundedRaw(descriptor, max_bytes, label))


def read_regular_file(path: str | Path, max_bytes: int, label: str) -> bytes:
    """The whole of a regular file no larger than ``max_bytes``; raises InputFileError otherwise."""
    with open_regular_file(path, max_bytes, label) as stream:
        return stream.read()


def resolve_inside(folder: Path, name: str, field: str) -> Path:
    """``name`` as a file inside ``folder``: relative, without ``..``, and not a link that leads out.

    Raises:
        InputFileError: the name points anywhere else (the message names ``field``, never the target).
    """
    relative = PurePath(name)
    if relative.is_absolute() or relative.drive:
        raise InputFileError(f"{field} must be a path relative to the scenario's folder (got an absolute path)")
    if ".." in relative.parts:
        raise InputFileError(f"{field} must stay inside the scenario's folder ('..' is not allowed)")
    try:
        root = folder.resolve()
        target = (root / relative).resolve()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a link loop
        raise InputFileError(f"{field} is not a valid file name") from None
    if not target.is_relative_to(root):
        raise InputFileError(f"{field} must stay inside the scenario's folder (it links outside)")
    return target
