import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import Env


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("TRUE", True), ("on", True), ("0", False), ("no", False), ("", False)]
)
def test_bool_accepts_the_usual_spellings(raw, expected):
    assert Env({"FLAG": raw}).bool("FLAG") is expected


def test_missing_values_take_the_default():
    env = Env({})

    assert env.bool("FLAG", default=True) is True
    assert env.int("COUNT", 7) == 7
    assert env.list("HOSTS", ["a"]) == ["a"]
    assert env.url("URL", ("redis",)) == ""


def test_list_splits_on_commas_and_drops_blanks():
    assert Env({"HOSTS": " a.example , ,b.example"}).list("HOSTS") == ["a.example", "b.example"]


def test_int_below_minimum_is_refused():
    with pytest.raises(ImproperlyConfigured, match="PORT must be at least 1, got 0"):
        Env({"PORT": "0"}).int("PORT", 8000, minimum=1)


def test_url_with_wrong_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must be a URL starting with redis://"):
        Env({"REDIS_URL": "http://localhost"}).url("REDIS_URL", ("redis",))
