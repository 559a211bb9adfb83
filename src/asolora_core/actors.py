"""Who acts (R1).

Every command names an :class:`Actor`: a vendor, a buyer, platform staff (the mediator) or
the system (timers and sweeps). Ownership checks live with the aggregates; this module only
says who is who.
"""

from __future__ import annotations

import enum

import attrs

from asolora_core.errors import InvalidInputError

__all__ = ["Actor", "ActorKind"]


class ActorKind(enum.Enum):
    """The four kinds of actor."""

    __hash__ = object.__hash__  # members are singletons: identity hash, C speed

    VENDOR = "vendor"
    BUYER = "buyer"
    STAFF = "staff"
    SYSTEM = "system"


def _check_id(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(
            "an actor needs a non-empty string id, e.g. Actor.vendor('v-1')", field="actor.id"
        )


@attrs.frozen
class Actor:
    """A vendor, buyer, staff member or the system, by id.

    >>> Actor.vendor("v-1")
    Actor(kind=<ActorKind.VENDOR: 'vendor'>, id='v-1')
    """

    kind: ActorKind
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
        return f"{self.kind.value}:{self.id}"

    def __str__(self) -> str:
        return self.key
