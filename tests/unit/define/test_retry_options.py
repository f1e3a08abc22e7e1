"""The retry options (``retries=``, ``retry_delay=``, ``retry_backoff=``, ``retry_on=``).

They are checked when the asset is defined, naming the asset and the field, and they are not
part of its code version (they say how to run it, not what it computes).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._define.code_version import asset_code_version


class FlakyNetworkError(ConnectionError):
    """An error of the kind worth trying again."""


def test_the_options_are_kept_on_the_asset_with_their_defaults() -> None:
    @fs.asset(
        retries=3, retry_delay=0.5, retry_backoff=3, retry_on=(FlakyNetworkError, TimeoutError)
    )
    def fetched() -> int:
        return 1

    assert fetched.retries == 3
    assert fetched.retry_delay == 0.5
    assert fetched.retry_backoff == 3
    assert fetched.retry_on == (FlakyNetworkError, TimeoutError)
    assert fs.validate(fetched) == []
    plain = fs.Asset(name="plain", execute_fn=lambda: 1)
    assert plain.retries is None  # none of its own: a run's retries= may give some
    assert (plain.retry_delay, plain.retry_backoff, plain.retry_on) == (1.0, 2.0, (Exception,))
    assert "retr" not in repr(plain)  # defaults stay out of the repr


def test_a_single_exception_type_and_a_list_are_a_tuple() -> None:
    @fs.asset(retries=1, retry_on=FlakyNetworkError)
    def one() -> int:
        return 1

    @fs.asset(retries=1, retry_on=[FlakyNetworkError, OSError])
    def two() -> int:
        return 1

    assert one.retry_on == (FlakyNetworkError,)
    assert two.retry_on == (FlakyNetworkError, OSError)


def test_zero_retries_and_no_delay_are_valid() -> None:
    assert fs.validate(fs.Asset(name="z", execute_fn=lambda: 1, retries=0, retry_delay=0)) == []


@pytest.mark.parametrize(
    ("options", "field", "says"),
    [
        ({"retries": -1}, "retries", r"retries=-1 is not a whole number of retries"),
        ({"retry_delay": -0.5}, "retry_delay", r"retry_delay=-0\.5 is not a number of seconds"),
        ({"retry_delay": math.inf}, "retry_delay", r"retry_delay=inf is not a number of seconds"),
        ({"retry_delay": math.nan}, "retry_delay", r"retry_delay=nan is not"),
        ({"retry_backoff": 0.5}, "retry_backoff", r"retry_backoff=0\.5 is not a factor of 1 or"),
        ({"retry_backoff": math.inf}, "retry_backoff", r"retry_backoff=inf is not a factor"),
        ({"retry_on": ValueError("x")}, "retry_on", r"retry_on lists ValueError\('x'\), whi"),
        ({"retry_on": (ValueError, "OSError")}, "retry_on", r"retry_on lists 'OSError', which"),
        (
            {"retry_on": (KeyboardInterrupt,)},
            "retry_on",
            r"retry_on lists KeyboardInterrupt, which is not an Exception type",
        ),
        ({"retry_on": int}, "retry_on", r"retry_on lists int, which is not an exception type"),
        ({"retry_on": ()}, "retry_on", r"retry_on is empty"),
    ],
)
def test_bad_values_are_refused_naming_the_asset_and_the_field(
    options: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(fs.AssetDefinitionError, match=rf"(?s)'flaky'.*- {field}: {says}") as info:

        @fs.asset(**{"retries": 2, **options})
        def flaky() -> int:
            return 1

    assert info.value.asset == "flaky"
    assert [issue.field for issue in info.value.issues] == [field]
    assert "flaky" not in fs.get_registry()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("retries", True),
        ("retries", 2.0),
        ("retries", "3"),
        ("retry_delay", "1"),
        ("retry_delay", False),
        ("retry_backoff", "2"),
    ],
)
def test_values_of_the_wrong_type_are_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(fs.AssetDefinitionError, match=rf"'typed'.*\n  - {field}"):

        @fs.asset(**{field: value})
        def typed() -> int:
            return 1


def test_validate_says_how_to_fix_each() -> None:
    issues = fs.validate(
        fs.Asset(name="x", execute_fn=lambda: 1, retries=-2, retry_on=("nope",), retry_delay=-1)
    )
    assert [issue.field for issue in issues] == ["retries", "retry_delay", "retry_on"]
    retries, delay, retry_on = (issue.message for issue in issues)
    assert "e.g. retries=3" in retries
    assert "e.g. retry_delay=5" in delay
    assert "exception types" in retry_on
    assert "e.g. retry_on=(ConnectionError, TimeoutError)" in retry_on


def test_a_pipeline_asset_takes_retries_and_is_checked_with_its_class() -> None:
    class Retried(fs.Pipeline):
        @fs.asset(retries=2, retry_on=(FlakyNetworkError,))
        def fetched() -> int:
            return 1

    assert Retried.assets()["fetched"].retries == 2
    with pytest.raises(fs.AssetDefinitionError, match="retries"):

        class Broken(fs.Pipeline):
            @fs.asset(retries=-1)
            def never() -> int:
                return 1


def test_the_retry_options_do_not_change_the_code_version() -> None:
    def body() -> int:
        return 1

    versions = {
        asset_code_version(fs.Asset(name="v", execute_fn=body, **options))
        for options in (
            {},
            {"retries": 3},
            {"retries": 1, "retry_delay": 0, "retry_backoff": 1, "retry_on": (OSError,)},
        )
    }
    assert len(versions) == 1
