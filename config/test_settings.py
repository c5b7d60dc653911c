"""Fast settings for the test suite; the database, cache and broker stay real."""

from config.settings import *  # noqa: F403

# Hashing demo and factory passwords with PBKDF2 would dominate the suite's time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
