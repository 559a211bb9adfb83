"""Who acts (R1).

Every command names an :class:`Actor`: a vendor, a buyer, platform staff (the mediator) or
the system (timers and sweeps). An actor is validated when it is built (its kind is an
:class:`ActorKind`, its id a non-empty string of bounded length), and every public method
refuses anything else with :func:`check_actor`. Ownership checks live with the aggregates;
this module only says who is who.
"""

from __future__ import annotations

import enum

import attrs

from asolora_core._values import value_repr
from asolora_core.errors import InvalidInputError
from asolora_core.limits import MAX_ID_LENGTH, check_plain, check_storable

__all__ = ["STAFF_DESK", "Actor", "ActorKind", "check_actor"]


class ActorKind(enum.Enum):
    """The four kinds of actor."""

    __hash__ = object.__hash__  # members are singletons: identity hash, C speed

    VENDOR = "vendor"
    BUYER = "buyer"
    STAFF = "staff"
    SYSTEM = "system"


def _check_kind(instance: object, attribute: attrs.Attribute[ActorKind], value: object) -> None:
    if type(value) is not ActorKind:
        raise InvalidInputError(
            f"an actor's kind must be an ActorKind (VENDOR, BUYER, STAFF or SYSTEM), not "
            f"{value!r}; build actors with Actor.vendor('v-1'), Actor.buyer('b-1'), ...",
            field="actor.kind",
        )


def _check_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if type(value) is not str or not 0 < len(value) <= MAX_ID_LENGTH or value.isspace():
        raise InvalidInputError(
            f"an actor needs a non-empty string id of at most {MAX_ID_LENGTH} characters, "
            "e.g. Actor.vendor('v-1')",
            field="actor.id",
            limit=MAX_ID_LENGTH,
        )
    check_storable(value, "actor.id")


def check_actor(by: object, field: str = "by") -> Actor:
    """``by`` if it is an :class:`Actor`; anything else (a string, ``None``, an object that
    merely looks like an actor) is refused with ``invalid_input``. Permission checks that
    follow are allow-lists: an actor is let through only by a rule that names its kind."""
    if type(by) is not Actor or type(by.kind) is not ActorKind:
        raise InvalidInputError(
            f"{field} must be an Actor, e.g. Actor.vendor('v-1'), not {type(by).__name__}",
            field=field,
        )
    # here, not in the validator: an actor read back from a store is not checked again
    check_plain(by.id, f"{field}.id", one_line=True)
    return by


@attrs.frozen
class Actor:
    """A vendor, buyer, staff member or the system, by id.

    >>> Actor.vendor("v-1")
    Actor(kind=<ActorKind.VENDOR: 'vendor'>, id='v-1')
    """

    __repr__ = value_repr

    kind: ActorKind = attrs.field(validator=_check_kind)
    id: str = attrs.field(validator=_check_id)

    @classmethod
    def vendor(cls, vendor_id: str) -> Actor:
        return cls(ActorKind.VENDOR, vendor_id)

    @classmethod
    def buyer(cls, buyer_id: str) -> Actor:
        return cls(ActorKind.BUYER, buyer_id)

    @classmethod
    def staff(cls, staff_id: str) -> Actor:
        return cls(ActorKind.STAFF, staff_id)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, name)

    @property
    def key(self) -> str:
        """``'vendor:v-1'``: the scope of this actor's idempotency keys (R35)."""
        return f"{self.kind._value_}:{self.id}"  # the enum's value, without its descriptor

    def __str__(self) -> str:
        return self.key


#: The staff desk: who is told of what needs a person at the platform (an issue handed to
#: staff, R40; a chat message the contact policy flagged, R27).
STAFF_DESK = Actor(ActorKind.STAFF, "desk")
