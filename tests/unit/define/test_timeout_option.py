"""The ``timeout=`` option: checked when the asset is defined, and not part of its code version."""

from __future__ import annotations

import math
from typing import Any

import pytest

import flowstone_nb as fs
from flowstone_nb._define.code_version import asset_code_version


def test_a_timeout_is_kept_on_the_asset() -> None:
    @fs.asset(timeout=2.5)
    def slow() -> int:
        return 1

    assert slow.timeout == 2.5
    assert fs.Asset(name="plain", execute_fn=lambda: 1).timeout is None
    assert fs.validate(slow) == []
    assert fs.validate(fs.Asset(name="whole", execute_fn=lambda: 1, timeout=3)) == []


@pytest.mark.parametrize("value", [0, -1, -0.5, math.nan, math.inf])
def test_a_timeout_that_is_not_a_positive_number_of_seconds_is_refused(value: float) -> None:
    with pytest.raises(
        fs.AssetDefinitionError, match=r"(?s)'stuck'.*- timeout: .*positive"
    ) as info:

        @fs.asset(timeout=value)
        def stuck() -> int:
            return 1

    assert info.value.asset == "stuck"
    assert [issue.field for issue in info.value.issues] == ["timeout"]
    assert repr(value) in str(info.value) or str(value) in str(info.value)
    assert "stuck" not in fs.get_registry()


@pytest.mark.parametrize("value", ["5", True, [1]])
def test_a_timeout_that_is_not_a_number_is_refused(value: Any) -> None:
    with pytest.raises(fs.AssetDefinitionError, match=r"'typed'.*\n  - timeout"):

        @fs.asset(timeout=value)
        def typed() -> int:
            return 1


def test_validate_names_the_timeout_field() -> None:
    issues = fs.validate(fs.Asset(name="x", execute_fn=lambda: 1, timeout=0))
    assert [issue.field for issue in issues] == ["timeout"]
    assert "timeout=0" in issues[0].message
    assert "seconds" in issues[0].message


def test_a_pipeline_asset_takes_a_timeout_and_is_checked_with_its_class() -> None:
    class Timed(fs.Pipeline):
        @fs.asset(timeout=1)
        def quick() -> int:
            return 1

    assert Timed.assets()["quick"].timeout == 1
    with pytest.raises(fs.AssetDefinitionError, match="timeout"):

        class Broken(fs.Pipeline):
            @fs.asset(timeout=-2)
            def never() -> int:
                return 1


def test_the_timeout_does_not_change_the_code_version() -> None:
    def body() -> int:
        return 1

    versions = {
        asset_code_version(fs.Asset(name="v", execute_fn=body, timeout=timeout))
        for timeout in (None, 1, 30.0)
    }
    assert len(versions) == 1
