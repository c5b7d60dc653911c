"""Errors a service raises to refuse a request, with a message for the person who made it."""

from __future__ import annotations


class DomainError(Exception):
    """The request breaks a business rule. The API answers 400 with the message."""

    status_code = 400


class ConflictError(DomainError):
    """The request was valid, but the object has moved on (e.g. another agent acted first)."""

    status_code = 409
