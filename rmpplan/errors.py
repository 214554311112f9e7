"""Domain errors: every way input can be wrong, raised by the core and turned
into a one-line message and exit 2 at the command-line edge."""

from __future__ import annotations


class InputError(Exception):
    """Bad input: the message is one line that says what is wrong and where."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def located(self, path: str | None = None) -> InputError:
        """The same error, naming ``path`` when it did not name a file yet."""
        if self.path is not None or path is None:
            return self
        return InputError(self.message, path=path, line=self.line)

    def describe(self) -> str:
        """The message with its line but without the file, for reports that name it."""
        return (f"line {self.line}: " if self.line is not None else "") + self.message

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        return where + self.message


class MaskError(InputError):
    """A cpulist or hex mask the kernel would refuse; ``errno`` is the kernel's
    error class (``EINVAL``, ``ERANGE`` or ``EOVERFLOW``)."""

    def __init__(self, errno: str, message: str) -> None:
        super().__init__(f"{errno}: {message}")
        self.errno = errno
        self.reason = message
