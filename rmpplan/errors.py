"""Domain errors: every way input can be wrong, raised by the core and turned
into a one-line message and exit 2 at the command-line edge.

Context is added with :meth:`InputError.within` (a prefix such as a key or a
flag), :meth:`InputError.at` (a line) and :meth:`InputError.located` (the
file), all of which keep the error's class, line and errno; user text is
quoted with :func:`rmpplan.escaping.quote`. Readers raise without the file: the
entry point that opened it (``inputs.load_machine``, ``sources.read_source``) locates.
"""

from __future__ import annotations

from typing import Self

# Quoting lives in rmpplan.escaping; these names stay importable from here.
from rmpplan.escaping import QUOTE_MAX, printable, quote, unicode_text

__all__ = [
    "QUOTE_MAX",
    "InputError",
    "MaskError",
    "OptionError",
    "printable",
    "quote",
    "unicode_text",
]


class InputError(Exception):
    """Bad input: the message is one line that says what is wrong and where."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def _with(self, **changes: object) -> Self:
        # Not copy.copy: it would call a subclass's __init__ with the wrong arguments.
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__, **changes)
        Exception.__init__(clone, clone.message)
        return clone

    def within(self, context: str) -> Self:
        """The same error (class, line, errno kept) with ``context: `` before its message."""
        return self._with(message=f"{context}: {self.message}")

    def located(self, path: str | None = None) -> Self:
        """The same error, naming ``path`` when it did not name a file yet."""
        if self.path is not None or path is None:
            return self
        return self._with(path=path)

    def at(self, line: int | None) -> Self:
        """The same error on ``line`` when it had no line yet (a key's line, found later)."""
        if self.line is not None or line is None:
            return self
        return self._with(line=line)

    def describe(self) -> str:
        """The message with its line but without the file, for reports that name it."""
        return (f"line {self.line}: " if self.line is not None else "") + self.message

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        return where + self.message


class OptionError(InputError):
    """A command-line value that does not fit the machine it was given with
    (``--leader 999`` on a 16-CPU machine): the file is fine, so no file is named."""

    def located(self, path: str | None = None) -> Self:
        return self


class ParameterError(OptionError):
    """A value given for a named parameter does not fit the machine. The core
    names the parameter as its own code does (``worker``, ``offline_after_setup``);
    each edge renames it (:meth:`named`): the command line to its flag, the API
    to its argument, so neither speaks the other's language."""

    def __init__(self, param: str, reason: str) -> None:
        super().__init__(f"{param}: {reason}")
        self.param = param
        self.reason = reason

    def named(self, name: str) -> Self:
        """The same error naming the parameter ``name``."""
        return self._with(param=name, message=f"{name}: {self.reason}")


class MaskError(InputError):
    """A cpulist or hex mask the kernel would refuse; ``errno`` is the kernel's
    error class (``EINVAL``, ``ERANGE`` or ``EOVERFLOW``)."""

    def __init__(self, errno: str, message: str) -> None:
        super().__init__(f"{errno}: {message}")
        self.errno = errno
