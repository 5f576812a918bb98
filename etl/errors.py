"""Error family of the ETL: a whole source is unusable vs one record is bad."""

from __future__ import annotations

from etl.records import Locator


class GrondslagError(Exception):
    """Base class of every error Grondslag raises on purpose."""

    def __reduce__(self):
        # picklable whatever a subclass's __init__ takes (errors and quarantined records cross from
        # the read-ahead worker process): rebuilt from the message and the attributes, not __init__
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[Exception], args: tuple, state: dict) -> Exception:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class ConfigError(GrondslagError):
    """A mapping file or setting is wrong (CLI exit code 2)."""


class SourceError(GrondslagError):
    """A whole file/dataset cannot be used (unreadable, wrong structure, missing column)."""

    def __init__(self, file: str, message: str, *, where: str | None = None) -> None:
        self.file = file
        self.where = where
        self.reason = message
        loc = f"{file}" + (f", {where}" if where else "")
        super().__init__(f"{loc}: {message}")


class RecordError(GrondslagError):
    """One record is bad; it goes to quarantine while the rest of the file loads."""

    def __init__(self, locator: Locator, reason: str, message: str, *, field: str | None = None) -> None:
        self.locator = locator
        self.reason = reason
        self.field = field
        super().__init__(f"{locator}: {field + ': ' if field else ''}{message}")
