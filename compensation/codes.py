"""Coupon codes: random, unguessable, easy to read aloud on the phone."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: nothing a caller and an agent can confuse.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GROUPS, GROUP_LENGTH = 4, 4  # 16 characters of 31 symbols: 79 bits


def new_code() -> str:
    characters = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))
    return "-".join(characters[index : index + GROUP_LENGTH] for index in range(0, len(characters), GROUP_LENGTH))


def normalize_code(raw: str) -> str:
    """What a person types (lower case, spaces, missing dashes) → the stored form."""
    characters = "".join(character for character in raw.upper() if character.isalnum())
    return "-".join(characters[index : index + GROUP_LENGTH] for index in range(0, len(characters), GROUP_LENGTH))
