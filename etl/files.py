"""The files a run loads: folders walked and zips extracted, and the content hash that decides
whether a file changed since its last load."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from etl.errors import ConfigError


def sha256_of(path: Path | str) -> str:
    """Hex SHA-256 of a file's content (what decides "unchanged since the last load")."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def expand_paths(paths: Iterable[Path], workdir: Path) -> Iterator[Path]:
    """Files of ``paths``: folders walked (sorted), zips extracted into ``workdir``."""
    for p in paths:
        if p.is_dir():
            yield from expand_paths(sorted(q for q in p.rglob("*") if q.is_file()), workdir)
        elif p.suffix.lower() == ".zip":
            target = workdir / p.stem
            with zipfile.ZipFile(p) as zf:
                for member in zf.infolist():
                    if member.is_dir() or ".." in Path(member.filename).parts:
                        continue
                    zf.extract(member, target)
            yield from expand_paths([target], workdir)
        elif p.exists():
            yield p
        else:
            raise ConfigError(f"{p}: no such file or folder")
