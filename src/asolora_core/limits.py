"""The documented limits on every input, in one place (R2, R25, R33).

Every amount, quantity, id and text a caller passes is checked against these limits before
any store is touched, so the in-memory store, SQLite and every other store accept exactly the
same inputs (R33), and no sum the library computes can overflow a signed 64-bit integer:

* an amount (a price, a payment, a refund, a fee, a shipping charge) is at most
  :data:`MAX_AMOUNT_MINOR` minor units, and so is the gross of one order (lines plus
  shipping) and of one checkout;
* a balance or a fold over the journal is a sum of such amounts: it stays below ``2**63``
  until more than nine million orders of the maximum size have been booked to one account;
* a converted amount is the order amount times a rate: rates up to ``10**6`` minor units per
  minor unit (far above any real pair) keep it below ``2**63``.

Every text (ids, keys, names, free text) must also be storable on every store
(:func:`check_storable`): no NUL character (PostgreSQL ``text`` and ``jsonb`` refuse it; SQLite
and the in-memory store would keep it) and no unpaired surrogate (not encodable as UTF-8, which
SQLite and PostgreSQL need and the in-memory store does not).

The checks are type, length and membership tests only (no regular expressions): they run on
every command.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from asolora_core.errors import InvalidInputError, InvalidMoneyError

__all__ = [
    "MAX_AMOUNT_MINOR",
    "MAX_AMOUNT_TEXT",
    "MAX_CHECKOUT_ITEMS",
    "MAX_ID_LENGTH",
    "MAX_KEY_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_QUANTITY",
    "MAX_RATE_MINOR",
    "MAX_REFERENCE_LENGTH",
    "MAX_RESERVE_DAYS",
    "MAX_TEXT_LENGTH",
    "check_amount_minor",
    "check_storable",
    "check_count",
    "check_id",
    "check_key",
    "check_name",
    "check_optional_id",
    "check_plain",
    "check_quantity",
    "check_text",
    "storable_text",
]

MAX_AMOUNT_MINOR: Final = 10**12
"""Largest amount, in minor units, of any single amount and of one order's or checkout's gross:
10,000,000,000.00 EUR, 1,000,000,000,000 JPY, 1,000,000,000.000 KWD. A larger amount is
refused with :class:`~asolora_core.errors.InvalidMoneyError` (``invalid_money``) before any
store is touched."""
MAX_QUANTITY: Final = 1_000_000
"""Largest quantity of one line (items ordered, shipped or refunded); a larger one is
:class:`~asolora_core.errors.InvalidInputError` (``invalid_input``)."""
MAX_CHECKOUT_ITEMS: Final = 1_000
"""Most items in one checkout."""
MAX_ID_LENGTH: Final = 200
"""Longest id of anything: order, line, shipment, issue, conversation, vendor, buyer, product,
actor, chargeback reference, checkout. A longer id is
:class:`~asolora_core.errors.InvalidInputError` naming the argument."""
MAX_KEY_LENGTH: Final = 255
"""Longest idempotency key (R35); a longer one is
:class:`~asolora_core.errors.InvalidInputError`."""
MAX_NAME_LENGTH: Final = 200
"""Longest name: customer name, vendor name, product title, carrier, tracking number, time
zone, currency code. A longer one is :class:`~asolora_core.errors.InvalidInputError`."""
MAX_TEXT_LENGTH: Final = 4000
"""Longest free text: issue descriptions, responses, settlement messages, tracking notes,
reasons (messages in conversations: ``MarketplaceConfig.message_max_length``, at most this).
A longer text is :class:`~asolora_core.errors.InvalidInputError`."""
MAX_REFERENCE_LENGTH: Final = 500
"""Longest attachment reference (a file id or URL) of a message."""
MAX_RATE_MINOR: Final = 10**6
"""Largest exchange rate in minor units (quote minor units one base minor unit buys): a
converted amount stays below ``MAX_AMOUNT_MINOR * MAX_RATE_MINOR = 10**18 < 2**63``."""
MAX_AMOUNT_TEXT: Final = 64
"""Longest amount written as text (``parse_money``), before any arithmetic."""
MAX_RESERVE_DAYS: Final = 3650
"""Longest rolling reserve a vendor's payout terms may keep (ten years, in days): every release
date stays a representable datetime."""


def check_storable(value: str, field: str) -> str:
    """``value`` if every store can keep it: no NUL character and no unpaired surrogate.

    PostgreSQL refuses NUL in ``text`` and ``jsonb``, and SQLite and PostgreSQL store UTF-8,
    which has no encoding for a lone surrogate; the in-memory store would take both. Refusing
    them here, before any store is touched, keeps the stores in agreement (R33). ASCII text
    (``isascii`` is a flag read) costs one ``in`` scan.
    """
    if "\x00" in value:
        raise InvalidInputError(
            f"{field} contains a NUL character (\\x00), which no store keeps; remove it",
            field=field,
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputError(
                f"{field} contains an unpaired surrogate (text that is not valid Unicode and "
                "cannot be stored as UTF-8); decode your input with errors='strict' or "
                "'replace'",
                field=field,
            ) from None
    return value


def storable_text(value: str, limit: int) -> str:
    """``value`` made storable on every store, for text the library writes but no caller
    typed (a notifier's error message): each NUL and unpaired surrogate written as its
    escape (``\\x00``, ``\\ud800``), then cut to ``limit`` characters."""
    value = value[: limit * 2]
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    if not value.isascii():
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value[:limit]


#: The bidirectional formatting controls (embeddings, overrides, isolates): each reorders how
#: the text after it is shown, so that ``"ann\u202egpj.exe"`` reads ``annexe.jpg``.
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_CONTROLS: Final = frozenset("\t\n\r")


def check_plain(value: str, field: str, *, one_line: bool) -> str:
    """``value`` if it has no control character (C0 but tab, line feed and carriage return;
    DEL; C1) and, when ``one_line`` (ids, keys, names), no tab or line break either and no
    bidirectional formatting control (U+202A-U+202E, U+2066-U+2069).

    Control characters (an ESC that recolours a terminal, a backspace that hides what comes
    before it) are never part of what a person typed, and an id or a name is shown on one
    line, as written, to someone who must be able to trust it. Free text keeps its line
    breaks and any right-to-left text (with the right-to-left and left-to-right marks).
    Printable text (``str.isprintable``, one C-level pass) is the usual case and costs
    nothing more.
    """
    if value.isprintable():
        return value
    for char in value:
        if char in _LINE_CONTROLS:
            if not one_line:
                continue
            what = "a tab or line break"
        elif unicodedata.category(char) == "Cc":
            what = "a control character"
        elif one_line and char in _BIDI_CONTROLS:
            what = "a bidirectional override, which changes how the text around it is shown"
        else:
            continue
        raise InvalidInputError(
            f"{field} contains {what} (U+{ord(char):04X})"
            + ("; an id, key or name is one line of plain text" if one_line else "")
            + "; remove it",
            field=field,
        )
    return value


def check_id(value: object, field: str) -> str:
    """``value`` if it is a non-blank, storable string of at most :data:`MAX_ID_LENGTH`
    characters."""
    if type(value) is not str or not 0 < len(value) <= MAX_ID_LENGTH or value.isspace():
        raise InvalidInputError(
            f"{field} must be a non-empty string of at most {MAX_ID_LENGTH} characters",
            field=field,
            limit=MAX_ID_LENGTH,
        )
    value = check_storable(value, field)
    # printable (one C-level pass) is the usual case: no call into check_plain for it
    return value if value.isprintable() else check_plain(value, field, one_line=True)


def check_optional_id(value: object, field: str) -> str | None:
    """``None``, or an id as :func:`check_id` accepts it."""
    return None if value is None else check_id(value, field)


def check_key(value: object) -> str:
    """An idempotency key: a non-blank string of at most :data:`MAX_KEY_LENGTH` characters."""
    if type(value) is not str or not 0 < len(value) <= MAX_KEY_LENGTH or value.isspace():
        raise InvalidInputError(
            f"idempotency_key must be a non-empty string of at most {MAX_KEY_LENGTH} "
            "characters; a UUID is a good key",
            field="idempotency_key",
            limit=MAX_KEY_LENGTH,
        )
    value = check_storable(value, "idempotency_key")
    return value if value.isprintable() else check_plain(value, "idempotency_key", one_line=True)


def check_text(value: object, field: str, *, limit: int = MAX_TEXT_LENGTH) -> str:
    """``value`` if it is a storable string (possibly empty) of at most ``limit`` characters."""
    if type(value) is not str:
        raise InvalidInputError(f"{field} must be a string", field=field)
    if len(value) > limit:
        raise InvalidInputError(
            f"{field} may have at most {limit} characters (it has {len(value)})",
            field=field,
            limit=limit,
        )
    value = check_storable(value, field)
    return value if value.isprintable() else check_plain(value, field, one_line=False)


def check_name(value: object, field: str) -> str:
    """``value`` if it is a storable string (possibly empty) of at most
    :data:`MAX_NAME_LENGTH` characters, on one line: a customer or vendor name, a product
    title, a carrier, a tracking number (see :func:`check_plain`)."""
    value = check_text(value, field, limit=MAX_NAME_LENGTH)
    return value if value.isprintable() else check_plain(value, field, one_line=True)


def check_quantity(value: object, field: str) -> int:
    """A whole number of units from 1 to :data:`MAX_QUANTITY`."""
    if type(value) is not int or not 1 <= value <= MAX_QUANTITY:
        raise InvalidInputError(
            f"{field} must be a whole number from 1 to {MAX_QUANTITY}",
            field=field,
            limit=MAX_QUANTITY,
        )
    return value


def check_count(value: object, field: str, *, low: int, high: int) -> int:
    """A whole number (never a bool or a float) from ``low`` to ``high``."""
    if type(value) is not int or not low <= value <= high:
        raise InvalidInputError(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def check_amount_minor(value: int, field: str) -> int:
    """``value`` (minor units) if its size is at most :data:`MAX_AMOUNT_MINOR`."""
    if not -MAX_AMOUNT_MINOR <= value <= MAX_AMOUNT_MINOR:
        raise InvalidMoneyError(
            f"{field} is larger than the largest amount this library takes "
            f"({MAX_AMOUNT_MINOR} minor units); split it or check it is right",
            field=field,
            limit=MAX_AMOUNT_MINOR,
        )
    return value
