"""Domain exceptions carrying messages a clerk can read."""
from __future__ import annotations


class DomainError(Exception):
    """A refusal with a message for the user; views turn it into a flash or a 4xx."""

    status_code = 400

    def __init__(self, message: str):
        super().__init__(str(message))
        self.message = str(message)


class GateRefused(DomainError):
    """A step refused because conditions of the law are unmet; `unmet` lists them all in words."""

    status_code = 409

    def __init__(self, unmet: list[str], message: str | None = None):
        self.unmet = [str(u) for u in unmet]
        super().__init__(message or "; ".join(self.unmet))


class PermissionDenied(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    """Someone else changed the object first (version column) or a unique value is taken."""

    status_code = 409
