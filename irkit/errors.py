"""The error types irkit raises. Every message names the field, file or knob at fault."""

from __future__ import annotations

# CLI exit codes (documented in README "Exit codes")
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REGRESSION = 3
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM


class IrkitError(Exception):
    """Base class for errors that carry a readable message for the user."""

    exit_code = EXIT_FAILURE


class SpecError(IrkitError, ValueError):
    """An invalid job spec. ``field`` is the dotted path of the offending key."""

    exit_code = EXIT_USAGE

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}")


class PackagingError(IrkitError):
    """A model or payload archive is malformed, hostile or does not match the model (exit 2: fix the
    file and run again)."""

    exit_code = EXIT_USAGE


class WeightsUnavailableError(IrkitError):
    """Pretrained weights could not be loaded (usually: offline with no cached file)."""


class MissingDependencyError(IrkitError, ImportError):
    """An optional dependency is not installed; the message says which extra to install."""


class BackendError(IrkitError):
    """A backend call failed (AWS error, local server failure, ...)."""


class ProcessDiedError(BackendError):
    """A process a job started (model server, Locust master or worker) died during a test, e.g. of
    SIGKILL. The test's figures are not trusted: the job stops, and a resume runs the test again."""


def exit_description(returncode: int | None) -> str:
    """``-9`` -> "killed by signal 9 (SIGKILL)", ``1`` -> "exited with code 1"."""
    if returncode is None:
        return "is still running"
    if returncode < 0:
        import signal

        try:
            name = f" ({signal.Signals(-returncode).name})"
        except ValueError:
            name = ""
        return f"killed by signal {-returncode}{name}"
    return f"exited with code {returncode}"


class JobFailedError(BackendError):
    """A right-size job ended FAILED; ``failure_reason`` is the service's FailureReason."""

    def __init__(self, job_name: str, failure_reason: str | None) -> None:
        self.job_name = job_name
        self.failure_reason = failure_reason
        super().__init__(f"job {job_name} failed: {failure_reason or 'no reason given'}")


class PayloadError(IrkitError, ValueError):
    """A request payload cannot be decoded; servers turn it into a 4xx answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        self.status = status
        super().__init__(message)


class RegressionError(IrkitError):
    """A scheduled run regressed against its baseline beyond the allowed percentage."""

    exit_code = EXIT_REGRESSION
