"""Tamper evidence for everything money is computed from (R24, R42): pure functions, no I/O.

* The journal is a hash chain (:func:`asolora_core.ledger.model.seal`); with a secret key
  each link is an HMAC-SHA-256, so whoever edits the database without the key cannot re-seal
  it.
* Holds and vendor accounts are mutable rows, so they carry a *seal*: a hash (HMAC under the
  key) of every other field (:func:`sealed`, :func:`seal_ok`). A hold is also cross-checked
  against the journal before it is released (:func:`hold_problems`): its vendor, what was
  paid and what it holds must be what the order's journal transactions say.
* A :class:`Checkpoint` (journal position, head hash, time; signed with the key) is published
  outside the database (:class:`~asolora_core.ports.CheckpointSink`); checking the journal
  against it (:func:`checkpoint_problems`) finds a removed tail.

The threat model (what is detected, with what, and what is not) is the "Ledger integrity" page
of the docs.
"""

from __future__ import annotations

import datetime as _dt
import hmac
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from asolora_core import _codec
from asolora_core._values import replacer, value_repr
from asolora_core.errors import LedgerIntegrityError
from asolora_core.ledger.model import (
    HELD,
    Hold,
    JournalTransaction,
    VendorAccount,
    iso,
    keyed_hash,
    vendor_account,
)

__all__ = [
    "Checkpoint",
    "JournalFacts",
    "checkpoint_problems",
    "hold_problems",
    "hold_problems_in",
    "journal_facts",
    "readable",
    "record_seal",
    "seal_fresh",
    "seal_ok",
    "sealed",
    "sign_checkpoint",
]

R = TypeVar("R", Hold, VendorAccount)
T = TypeVar("T")


def readable(decode: Callable[..., T], what: str) -> Callable[..., T]:
    """``decode`` of a stored row (a hold, a payout, a vendor account, an order, an
    idempotency record), with a body that no longer decodes (edited with SQL: not JSON, a
    field missing or of the wrong type) refused as
    :class:`~asolora_core.errors.LedgerIntegrityError` rather than a ``KeyError`` or a JSON
    error: nothing is computed from it (R42)."""

    def read(*args: Any) -> T:
        try:
            return decode(*args)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            raise LedgerIntegrityError(
                f"a stored {what} does not decode ({type(exc).__name__}): it was changed "
                "outside the library; nothing is computed from it: restore it",
                row=what,
            ) from exc

    return read


_GETTERS: dict[type[Any], Callable[[Any], tuple[Any, ...]]] = {}
_SCALARS = frozenset((int, str, bool, type(None)))


def _fields(value: Any) -> tuple[Any, ...]:
    """Every field of an attrs value but ``seal``, in field order (one C-level getter)."""
    cls = value.__class__
    get = _GETTERS.get(cls)
    if get is None:
        names = [f.name for f in attrs.fields(cls) if f.name != "seal"]
        getter = operator.attrgetter(*names)
        get = (lambda v: (getter(v),)) if len(names) == 1 else getter
        _GETTERS[cls] = get
    return get(value)


def _plain(value: Any) -> Any:
    """JSON-ready form of a field: instants as ISO 8601, attrs values as field lists."""
    cls = value.__class__
    if cls in _SCALARS:
        return value
    if cls is _dt.datetime:
        return iso(value)
    if cls is tuple:
        return [_plain(v) for v in value]
    return [_plain(v) for v in _fields(value)]  # an attrs value (a Chargeback)


_BODIES: dict[type[Any], Callable[[Any], list[Any]]] = {}
_encode_seal_body = _codec.compact_encoder()


def _body_function(cls: type[Any]) -> Callable[[Any], list[Any]]:
    """A generated function (built once per class) giving what :func:`record_seal` hashes:
    the class name and every field but ``seal``, in field order, each as :func:`_plain`
    gives it (a scalar as it is, an instant as ISO 8601, an empty tuple as an empty list),
    with no loop and no call for the scalars, instants and empty tuples that make up almost
    every field."""
    items = []
    for f in attrs.fields(cls):
        if f.name == "seal":
            continue
        items.append(
            f"(x if (x := v.{f.name}).__class__ in _SCALARS "
            f"else _iso(x) if x.__class__ is _datetime else [] if x == () else _plain(x))"
        )
    source = f"def body(v):\n    return [{cls.__name__!r}, {', '.join(items)}]\n"
    namespace: dict[str, Any] = {
        "_SCALARS": _SCALARS,
        "_datetime": _dt.datetime,
        "_iso": iso,
        "_plain": _plain,
    }
    exec(compile(source, f"<seal body {cls.__qualname__}>", "exec"), namespace)
    fn: Callable[[Any], list[Any]] = namespace["body"]
    return fn


def record_seal(value: Hold | VendorAccount, key: bytes | None) -> str:
    """The seal of a hold or vendor account: a hash of every field but ``seal`` (in field
    order, under the class name)."""
    cls = value.__class__
    body = _BODIES.get(cls)
    if body is None:
        body = _BODIES[cls] = _body_function(cls)
    return keyed_hash(_encode_seal_body(body(value)), key)


_SEALERS: dict[type[Any], Callable[[Any, str], Any]] = {}


def sealed(value: R, key: bytes | None) -> R:
    """``value`` with its seal set, as it is stored."""
    cls = value.__class__
    with_seal = _SEALERS.get(cls)
    if with_seal is None:  # one generated copy per class: every field kept but ``seal``
        with_seal = _SEALERS[cls] = replacer(cls, "seal")
    result: R = with_seal(value, record_seal(value, key))
    return result


def seal_fresh(value: R, key: bytes | None) -> R:
    """:func:`sealed` for a value its caller has just built and shared with no one (the held
    proceeds a release sweep computed): the seal is set on ``value`` itself, not on a copy
    (one construction of every field fewer per release). ``seal`` is not part of equality
    or hashing, and the value is returned sealed before anyone else sees it."""
    object.__setattr__(value, "seal", record_seal(value, key))
    return value


def seal_ok(value: Hold | VendorAccount, key: bytes | None) -> bool:
    """Whether ``value`` is as it was sealed (under ``key``)."""
    return hmac.compare_digest(value.seal, record_seal(value, key))


#: What the cross-check of a hold (:func:`hold_problems_in`) reads of one journal transaction
#: of its order: ``(seq, vendor_id, kind, memo, held)``, ``memo`` only for a capture (else
#: None) and ``held`` the transaction's entries on ``held`` accounts (at least those) as
#: ``(account, currency, amount_minor)``. A store can read just this much of the journal
#: (``LedgerRepository.journal_facts``): a release cross-checks every hold it releases.
JournalFacts = tuple[int, str, str, Mapping[str, str] | None, Sequence[tuple[str, str, int]]]


def journal_facts(txns: Sequence[JournalTransaction]) -> tuple[JournalFacts, ...]:
    """The :data:`JournalFacts` of each of an order's transactions (in journal order)."""
    return tuple(
        (
            t.seq,
            t.vendor_id,
            t.kind,
            t.memo if t.kind == "capture" else None,
            tuple((e.account, e.currency, e.amount_minor) for e in t.entries if e.kind == HELD),
        )
        for t in txns
    )


def hold_problems(hold: Hold, txns: Sequence[JournalTransaction]) -> list[str]:
    """What disagrees between a hold and its order's journal transactions (R15, R42): the
    vendor, the amount paid (the capture), the amount held (the fold of the order's entries on
    the vendor's ``held`` account) and whether it was released."""
    return hold_problems_in(hold, journal_facts(txns))


def hold_problems_in(hold: Hold, facts: Iterable[JournalFacts]) -> list[str]:
    """:func:`hold_problems` from the :data:`JournalFacts` of the order's transactions, in
    journal order (what a store reads for a sweep's cross-check)."""
    found: list[str] = []
    vendor_id = hold.vendor_id
    account = vendor_account(vendor_id, HELD)
    currency = hold.currency
    capture: Mapping[str, str] | None = None
    released = False
    held = 0
    # one pass over the order's transactions (a release checks every hold it releases)
    for seq, txn_vendor, kind, memo, entries in facts:
        if txn_vendor != vendor_id:
            found.append(f"journal transaction {seq} belongs to vendor {txn_vendor!r}")
        if kind == "capture":
            if capture is None:
                capture = {} if memo is None else memo
        elif kind == "release":
            released = True
        for entry_account, entry_currency, amount in entries:
            if entry_account == account and entry_currency == currency:
                held -= amount
    paid = 0 if capture is None else int(capture.get("paid", "0"))
    if paid != hold.paid_minor:
        found.append(f"paid {hold.paid_minor}, the capture in the journal says {paid}")
    if held != hold.held_minor:
        found.append(f"holds {hold.held_minor}, the journal holds {held}")
    if not released and hold.released_at is not None and not hold.released_minor and held == 0:
        # fees took the whole amount: the release had nothing to post (``core.release``
        # returns no transaction), and the journal agrees nothing is held (R15, R19)
        released = True
    if released != (hold.released_at is not None):
        found.append("released state differs from the journal")
    return found


@attrs.frozen(kw_only=True)
class Checkpoint:
    """The journal's position and head hash at an instant, published outside the database
    (R42). ``signature`` is an HMAC of the three under the marketplace's key (empty without
    a key: then keep checkpoints where an intruder cannot rewrite them)."""

    __repr__ = value_repr

    seq: int
    head: str
    at: _dt.datetime
    signature: str = ""


def _checkpoint_text(seq: int, head: str, at: _dt.datetime) -> str:
    return f"asolora-checkpoint:{seq}:{head}:{at.isoformat()}"


def sign_checkpoint(seq: int, head: str, at: _dt.datetime, key: bytes | None) -> Checkpoint:
    """A checkpoint, signed when a key is configured."""
    signature = "" if key is None else keyed_hash(_checkpoint_text(seq, head, at), key)
    return Checkpoint(seq=seq, head=head, at=at, signature=signature)


def checkpoint_problems(
    checkpoint: Checkpoint, txns: Sequence[JournalTransaction], key: bytes | None
) -> list[str]:
    """What contradicts ``checkpoint`` in the journal ``txns`` (all of them, in order): a
    forged checkpoint (with a key), a journal that ends before it (a removed tail) or a
    different transaction at its position (a rewritten history)."""
    found: list[str] = []
    if key is not None:
        expected = keyed_hash(_checkpoint_text(checkpoint.seq, checkpoint.head, checkpoint.at), key)
        if not hmac.compare_digest(checkpoint.signature, expected):
            found.append("checkpoint signature does not match the key")
    if checkpoint.seq == 0:
        return found
    last = txns[-1].seq if txns else 0
    if last < checkpoint.seq:
        found.append(
            f"the journal ends at {last}, before the checkpoint at {checkpoint.seq}: "
            "transactions were removed"
        )
        return found
    at_seq = next((t for t in txns if t.seq == checkpoint.seq), None)
    if at_seq is None or at_seq.hash != checkpoint.head:
        found.append(f"transaction {checkpoint.seq} differs from the checkpoint's head")
    return found
