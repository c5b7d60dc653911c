from core.errors import ConflictError, DomainError


class IncidentError(DomainError):
    """A refused request, with a message fit to show the person who made it."""


class IncidentConflict(IncidentError, ConflictError):
    """The incident is no longer in a state that allows the request."""
