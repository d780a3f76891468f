"""Job errors: the API's (404) and the ones a handler raises or meets."""

from agora.platform.errors import NotFound


class JobNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such job.")


class ResultNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such result, or its link expired.")


class JobError(Exception):
    """A handler's way to fail its job with a message for the caller (`error` of the job);
    any other exception fails it as `internal_error` after the last attempt."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "field": self.field}


class LostClaim(Exception):
    """The job's lease ran out and another worker claimed it: this run's writes roll back."""
