"""`BoundedMap`: a dict that forgets the least recently set keys beyond its size, and each key
its ttl after it was last set; reading renews nothing."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from servicebot.bounded import BoundedMap

from support.fakes import Clock


def test_it_keeps_what_was_set_like_a_dict():
    kept: BoundedMap[str, int] = BoundedMap(10, 60, clock=Clock(0.0))
    kept["a"] = 1
    kept["b"] = 2
    kept["a"] = 3
    assert kept.get("a") == 3 and kept["b"] == 2 and "a" in kept and len(kept) == 2
    assert kept.get("z") is None and "z" not in kept
    with pytest.raises(KeyError):
        kept["z"]
    assert kept.items() == [("b", 2), ("a", 3)]  # the least recently set first
    assert kept.pop("b") == 2 and kept.pop("b") is None and len(kept) == 1
    kept.clear()
    assert len(kept) == 0 and kept.items() == []


def test_beyond_its_size_the_least_recently_set_key_is_forgotten():
    kept: BoundedMap[str, int] = BoundedMap(2, clock=Clock(0.0))
    kept["a"] = 1
    kept["b"] = 2
    assert kept.get("a") == 1  # reading does not renew
    kept["c"] = 3
    assert "a" not in kept and kept.items() == [("b", 2), ("c", 3)]
    kept["b"] = 20  # setting renews
    kept["d"] = 4
    assert kept.items() == [("b", 20), ("d", 4)]


def test_a_key_is_forgotten_its_ttl_after_it_was_last_set_and_not_before():
    clock = Clock(0.0)
    kept: BoundedMap[str, str] = BoundedMap(10, 600, clock=clock)
    kept["a"] = "x"
    clock.now = 300
    kept["b"] = "y"
    clock.now = 599.9
    assert kept.get("a") == "x" and len(kept) == 2
    clock.now = 600  # at the ttl exactly
    assert kept.get("a") is None and "a" not in kept and kept.items() == [("b", "y")]
    kept["b"] = "z"  # renewed at 600: until 1200
    clock.now = 1199
    assert kept["b"] == "z"
    clock.now = 1200
    assert len(kept) == 0 and kept.pop("b") is None


def test_an_expired_key_is_not_returned_even_when_the_clock_went_back():
    clock = Clock(100.0)
    kept: BoundedMap[str, int] = BoundedMap(10, 10, clock=clock)
    kept["early"] = 1  # until 110
    clock.now = 0.0
    kept["late"] = 2  # until 10: behind "early", which has not expired
    clock.now = 50.0
    assert kept.get("late") is None and kept.get("early") == 1


def test_without_a_ttl_the_clock_is_never_asked():
    def clock() -> float:
        raise AssertionError("asked")

    kept: BoundedMap[int, None] = BoundedMap(3, clock=clock)
    for n in range(5):
        kept[n] = None
    assert 4 in kept and 1 not in kept and len(kept) == 3 and kept.pop(2) is None


def test_a_size_of_zero_keeps_nothing_and_a_negative_one_is_refused():
    kept: BoundedMap[str, int] = BoundedMap(0)
    kept["a"] = 1
    assert len(kept) == 0
    with pytest.raises(ValueError):
        BoundedMap(-1)


@given(
    st.lists(
        st.tuples(st.sampled_from(("set", "get", "pop", "tick")), st.integers(0, 7), st.integers(0, 30)),
        max_size=60,
    ),
    st.integers(0, 4),
    st.integers(1, 40),
)
def test_it_behaves_like_a_plain_model_of_itself(steps, size, ttl):
    """Against a model that keeps every key with when it was set, and works out what is kept."""
    clock = Clock(0.0)
    kept: BoundedMap[int, int] = BoundedMap(size, ttl, clock=clock)
    model: dict[int, tuple[float, int]] = {}  # key → (when set, value), in the order set

    def alive() -> list[int]:
        fresh = [k for k, (at, _) in model.items() if at + ttl > clock.now]
        return fresh[max(0, len(fresh) - size) :]

    for op, key, n in steps:
        if op == "set":
            model.pop(key, None)
            model[key] = (clock.now, n)
            for gone in [k for k in model if k not in alive()]:
                del model[gone]
            kept[key] = n
        elif op == "get":
            expected = model[key][1] if key in alive() else None
            assert kept.get(key) == expected
        elif op == "pop":
            expected = model.pop(key)[1] if key in alive() else None
            assert kept.pop(key) == expected
        else:
            clock.advance(n)
        assert kept.items() == [(k, model[k][1]) for k in alive()]
