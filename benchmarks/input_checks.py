"""What the input checks (docs/limits.md) cost on the hot path, against named baselines in one run.

* ``to_minor``: the bounded integer path against ``fraction_baseline``, the exact
  ``Fraction`` arithmetic it replaced (same results on valid input, unbounded on hostile input);
* ``refuse_bomb``: refusing ``Decimal("1e-100000000")`` (the baseline would run for minutes);
* ``checks_per_command``: the limit checks one typical command runs (an actor, an id, a key,
  a text, a quantity) against one ``Money`` conversion.

    python benchmarks/input_checks.py          # prints nanoseconds per call and ratios
"""

from __future__ import annotations

import contextlib
import timeit
from decimal import Decimal
from fractions import Fraction

from moneyed import Money

from asolora_core import Actor, InvalidMoneyError, to_minor
from asolora_core.actors import check_actor
from asolora_core.limits import check_id, check_key, check_quantity, check_text


def fraction_baseline(amount: Money) -> int:
    """The conversion before the input limits: exact, but its cost grows with the exponent."""
    scaled = Fraction(amount.amount) * 10**2
    assert scaled.denominator == 1
    return int(scaled)


def _ns(fn: object, number: int = 200_000) -> float:
    assert callable(fn)
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e9


def main() -> None:
    m = Money("12.34", "EUR")
    bomb = Money(Decimal("1e-100000000"), "EUR")
    actor = Actor.vendor("v-1")

    def refuse() -> None:
        with contextlib.suppress(InvalidMoneyError):
            to_minor(bomb)

    def checks() -> None:
        check_actor(actor)
        check_id("o-000123", "order_id")
        check_key("9b2f6c1e-2d4a-4c1b-9f1e-3a7c5d9e0b12")
        check_text("out for delivery", "note")
        check_quantity(2, "items[l-1]")

    new = _ns(lambda: to_minor(m))
    old = _ns(lambda: fraction_baseline(m))
    print(f"to_minor            {new:8.0f} ns   fraction_baseline {old:8.0f} ns", end="")
    print(f"   ratio {new / old:.2f}")
    print(f"refuse 1e-100000000 {_ns(refuse, 20_000):8.0f} ns   (baseline: minutes)")
    per_cmd = _ns(checks)
    print(f"checks per command  {per_cmd:8.0f} ns   = {per_cmd / new:.2f} x one to_minor")


if __name__ == "__main__":
    main()
