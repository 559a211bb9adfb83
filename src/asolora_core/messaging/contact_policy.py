"""Contact details in buyer-vendor messages: detection, redaction and the contact policy (R27).

Buyers and vendors talk only inside the platform (R26). This module finds what would move a
conversation outside it -- email addresses, phone numbers, links to outside sites and
messaging-app handles -- and applies the configurable contact policy of R27: refuse, redact,
flag for staff, or (the default) redact and flag. It is pure: no I/O, no clock, no state. The
service layer raises on a refusal and tells the sender with :attr:`Screening.notice`.

How a message is read
---------------------
1. **Normalise** each character on its own (NFKC, lower case, other scripts' decimal digits to
   ASCII, dashes to ``-``, zero-width and combining marks dropped), close up letter-spaced
   words (``j o h n`` -> ``john``), and keep, for every character of the working text, the
   span of original text it came from. Findings are
   located in the working text and reported with their span in the ORIGINAL text, so
   ``text[f.start:f.end] == f.text`` always holds. A :data:`REDACTION_MARK` already in the
   text is read as one opaque character, which is what makes redaction idempotent.
2. **Addresses** are matched first, disguises included: emails (``john dot doe at gmail dot
   com``, ``john(at)gmail(dot)com``, ``john @ gmail . com``), links (``https://...``,
   ``shop.example.com``, ``wa.me/...``, ``t.me/...``, ``mysite dot com``) and messaging-app
   handles (``telegram: @name``, ``@name on insta``, ``my ig is name``, ``add me on
   whatsapp``, ``let's move to telegram``), and vanity numbers, where letters stand for
   digits after a toll-free or area prefix (``1-800-FLOWERS``, ``call 0800 CALL NOW``,
   ``(212) MY-PIZZA``, ``dial 555 FLOWERS``): 6 to 8 letters and digits, at least 3 of them
   letters, after ``+1``/``1-`` and a code, a code in parentheses, ``0800``/``0808``/``0500``,
   or any 3-4 digit code right after a phone word; a bare toll-free code needs ``-`` or ``.``
   and exactly 7 (``800-FLOWERS``), so ``I need 800 flowers`` stays a quantity. An email
   with neither ``at`` nor ``dot`` is found when it names a mail provider: a user name, the
   provider and a top-level domain side by side (``adalovelace gmail com``,
   ``adalovelace#gmail.com``), or an email cue, a user name and the provider (``email me at
   adalovelace gmail``); a user name that is an everyday word (``I use gmail com``) is not
   one. Up to two words of a name written before a disguised address go with it (``ada
   lovelace at gmail`` is removed whole), stopping at everyday words (``my email is``).
   These patterns run only when a provider's name is in the text. A full stop
   followed by a space ends a sentence: it never joins the parts of a vanity number, nor
   stands for the dot before a top-level domain after a spaced ``@`` (except before ``com``
   and ``org``). Overlapping matches are merged. The platform's own domain, asolora.com, passes.
3. **Phone numbers** are read in what is left (addresses already found count as one opaque
   word). Digits and digit words (``zero`` .. ``nine``, ``oh``, ``o`` inside digits,
   ``double``/``triple``, and words of digits with look-alike letters, ``i``/``l`` for 1 and
   ``o`` for 0: ``4I5``, ``267I``, ``OOI8``) separated only by spaces, ``-``, ``.``,
   ``/``, ``_`` or parentheses form a *run*; between two spelled-out parts a comma or
   semicolon, and the words ``dash``/``hyphen``/``minus``, join the run too (``five five
   five, one two three dash four five six seven``), never between plain digits (``sizes 36,
   38``); so digit words that follow a spelled-out number after a semicolon are read as part
   of it. These rules decide whether a run is a phone number; the first that applies wins:

   a. Digits in a date (``2026-11-26``, ``26/11/2026``), in an amount with a currency
      (``€1,299.99``, ``12.50 EUR``), in a ZIP+4 code or a year range never join a run, and
      digits glued to letters (``1Z999AA10123456784``, ``250g``) are a code, not a run.
   b. More than 15 digits (17 after a ``00`` prefix; E.164 numbers have at most 15) is not a
      phone number: tracking, IBAN and card numbers are longer.
   c. A run attached to a code by ``-``, ``_`` or ``/`` (``ORD-2026-000123``,
      ``A-100234``) or written after ``#`` is a reference, not a phone number.
   d. A run written after ``+`` is a phone number from 7 digits on. A run with look-alike
      letters is otherwise one only from 8 digits on, and never when its only look-alikes
      are two volumes or more (``200l 500l``); ``i7`` (a processor) and ``10l`` (a volume)
      are not look-alikes.
   e. The nearest keyword among the five words before the run, in the same sentence, decides:
      a phone cue (phone, call, text, mobile, tel, whatsapp, ... or an address already found)
      makes it a phone number from 6 digits on; a reference word (order, tracking, parcel,
      sku, ean, invoice, postcode, ...) makes it not one.
   f. With no keyword, a thousands-grouped number (``1.299.999``), a decimal amount
      (``123456.78``), a GTIN-13/14 barcode with a valid check digit, or a rising list of
      same-length numbers (sizes ``36 38 40 42``, years) is not a phone number.
   g. Otherwise a run of 8 or more digits is a phone number.

4. Masking what was found and reading again until nothing new turns up, because removing one
   detail can expose its neighbour; so :func:`scan` reports exactly what :func:`redact`
   removes and a redacted text holds no contact detail.

Detection is English-centred (digit words, keywords) and leans towards letting ordinary
order talk through; the FLAG policies exist for what slips through either way. Known gaps:
two phone numbers written back to back with only spaces between them read as one number of
more than 15 digits (rule b) and pass; digit words and keywords are English only; a 13-14
digit run with no ``+``, no keyword and a valid barcode check digit is taken for a barcode; a
7-digit local number with no phone word before it passes; a small number right before a phone
("need 2 0770 090 0123") is redacted with it; "at amazon. com" is flagged as an email; a
vanity number with a bare area code and no phone word ("555-FLOWERS") passes, and a phone
word before a 3-4 digit number and a 6-8 letter word ("call 100 florists") is flagged; a
user name and a provider with no top-level domain and no email cue ("adalovelace gmail")
passes, as do look-alike letters other than i, l and o ("S" for 5, "B" for 8, a "|" or a
letter of another script) and a look-alike number of fewer than 8 digits with no "+".
"""

from __future__ import annotations

import enum
import itertools
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence

import attrs

from asolora_core._values import value_repr

__all__ = [
    "DEFAULT_CONTACT_POLICY",
    "REDACTION_MARK",
    "ContactFinding",
    "ContactKind",
    "ContactPolicy",
    "Screening",
    "redact",
    "scan",
    "screen",
]

REDACTION_MARK = "[contact removed]"
"""What replaces each contact detail in a redacted message."""


class ContactPolicy(enum.Enum):
    """What happens to a message that carries a contact detail (R27)."""

    REFUSE = "refuse"  #: the message is not posted; the service raises
    REDACT = "redact"  #: contact details are replaced by :data:`REDACTION_MARK`
    FLAG = "flag"  #: the message is posted unchanged and flagged for staff
    REDACT_AND_FLAG = "redact_and_flag"  #: both; the default


DEFAULT_CONTACT_POLICY = ContactPolicy.REDACT_AND_FLAG
"""The policy of R27 when the marketplace configures none."""


class ContactKind(enum.Enum):
    """What a finding is."""

    EMAIL = "email"  #: an email address, plain or disguised
    PHONE = "phone"  #: a phone number, in digits, digit words or both
    LINK = "link"  #: a URL or domain outside the platform, messaging-app links included
    HANDLE = "handle"  #: a messaging-app handle or an invitation to talk on such an app


def _check_span(instance: ContactFinding, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


@attrs.frozen
class ContactFinding:
    """One contact detail: its kind, its span in the original text, and why it was found."""

    __repr__ = value_repr

    kind: ContactKind
    start: int = attrs.field(validator=_check_span)
    end: int = attrs.field(validator=_check_span)
    text: str
    reason: str

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start or len(self.text) != self.end - self.start:
            raise ValueError(
                f"span {self.start}:{self.end} does not fit the text {self.text!r} it names"
            )


_KIND_NAMES: dict[ContactKind, tuple[str, str]] = {
    ContactKind.EMAIL: ("an email address", "email addresses"),
    ContactKind.PHONE: ("a phone number", "phone numbers"),
    ContactKind.LINK: ("a link to an outside site", "links to outside sites"),
    ContactKind.HANDLE: ("a messaging-app contact", "messaging-app contacts"),
}

_KEEP_INSIDE = "keep all communication on Asolora"


@attrs.frozen
class Screening:
    """The outcome of :func:`screen`: what is stored and shown, and what the policy did."""

    __repr__ = value_repr

    text: str  #: the message as stored and shown (redacted if the policy redacts)
    findings: tuple[ContactFinding, ...]  #: what was found, spans in the ORIGINAL text
    refused: bool  #: the message must not be posted (the service raises)
    flagged: bool  #: staff should review the message
    redacted: bool  #: contact details were replaced by :data:`REDACTION_MARK`

    @property
    def notice(self) -> str | None:
        """One sentence telling the sender what was done and why; None if nothing was found."""
        if not self.findings:
            return None
        what = _describe(self.findings)
        if self.refused:
            return f"Your message was not sent because it contains {what}: {_KEEP_INSIDE}."
        if self.redacted and self.flagged:
            return f"We removed {what} and flagged the message for review: {_KEEP_INSIDE}."
        if self.redacted:
            return f"We removed {what}: {_KEEP_INSIDE}."
        return f"Your message contains {what} and was flagged for review: {_KEEP_INSIDE}."


def _describe(findings: Sequence[ContactFinding]) -> str:
    """'an email address and 2 phone numbers', kinds in the order of ContactKind."""
    return describe_kinds([f.kind for f in findings])


def describe_kinds(kinds: Sequence[ContactKind]) -> str:
    """The kinds found, in words: 'an email address and 2 phone numbers', in the order of
    :class:`ContactKind` (what the sender's notice and the staff desk's notification say)."""
    parts = []
    for kind, (one, many) in _KIND_NAMES.items():
        count = sum(1 for k in kinds if k is kind)
        if count == 1:
            parts.append(one)
        elif count > 1:
            parts.append(f"{count} {many}")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# --- public functions ----------------------------------------------------------------------


def scan(text: str) -> tuple[ContactFinding, ...]:
    """Every contact detail in ``text``, sorted by start, spans not overlapping.

    Found details are masked and the rest is read again until nothing new turns up: removing
    one detail can expose its neighbour (``a@b.com+4477...x@y.com`` only shows the second
    address once the first is gone). So the findings are exactly what :func:`redact` removes,
    and a redacted text holds no contact detail.
    """
    current = _normalise(text)
    located: list[tuple[tuple[int, int], _Hit]] = []
    while True:
        hits = _merge(_address_hits(current.text)) or _phone_hits(current.text)
        if not hits:
            break
        located += [(current.origin(h.start, h.end), h) for h in hits]
        current = current.masked([(h.start, h.end) for h in hits])
    located.sort(key=lambda item: item[0])
    return tuple(
        ContactFinding(kind=h.kind, start=s, end=e, text=text[s:e], reason=h.reason)
        for (s, e), h in located
    )


def redact(text: str) -> str:
    """``text`` with every contact detail replaced by :data:`REDACTION_MARK`."""
    return _replace(text, scan(text))


def screen(text: str, policy: ContactPolicy = DEFAULT_CONTACT_POLICY) -> Screening:
    """Apply the contact policy of R27 to one message.

    REFUSE leaves the text as it is and sets ``refused`` (the service raises); FLAG leaves it
    and sets ``flagged``; REDACT replaces the details; REDACT_AND_FLAG does both. With nothing
    found, the text passes untouched and every flag is False.
    """
    findings = scan(text)
    if not findings:
        return Screening(text=text, findings=(), refused=False, flagged=False, redacted=False)
    refused = policy is ContactPolicy.REFUSE
    redacts = policy in (ContactPolicy.REDACT, ContactPolicy.REDACT_AND_FLAG)
    flags = policy in (ContactPolicy.FLAG, ContactPolicy.REDACT_AND_FLAG)
    return Screening(
        text=_replace(text, findings) if redacts else text,
        findings=findings,
        refused=refused,
        flagged=flags,
        redacted=redacts,
    )


def _replace(text: str, findings: Sequence[ContactFinding]) -> str:
    pieces: list[str] = []
    cursor = 0
    for finding in findings:
        pieces += [text[cursor : finding.start], REDACTION_MARK]
        cursor = finding.end
    pieces.append(text[cursor:])
    return "".join(pieces)


# --- normalisation with a map back to the original text -------------------------------------

#: Stands for a redaction mark or an address already found: no pattern matches it, and the
#: phone rules read it as a phone cue (digits right after an email are contact details too).
_OPAQUE = "\ufffc"

#: Zero-width characters (Cf) and combining marks are invisible padding inside a disguise.
_DROPPED_CATEGORIES = frozenset({"Cf", "Mn", "Me"})

#: Look-alikes NFKC keeps apart: dashes and the ideographic full stop.
_LOOKALIKES = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63", "-"),
    "\u3002": ".",
    "\uff61": ".",
    "\u00b7": ".",
}


def _fold(ch: str) -> str:
    if ch.isascii():
        return ch.lower()
    out = []
    for c in unicodedata.normalize("NFKC", ch).lower():
        if unicodedata.category(c) in _DROPPED_CATEGORIES:
            continue
        if c in _LOOKALIKES:
            c = _LOOKALIKES[c]
        elif not c.isascii() and (digit := unicodedata.decimal(c, None)) is not None:
            c = str(digit)
        out.append(c)
    return "".join(out)


@attrs.frozen
class _Working:
    """Working text plus, for each of its characters, the original span it stands for."""

    __repr__ = value_repr

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def origin(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.ends[end - 1]

    def without(self, positions: Sequence[int]) -> _Working:
        """This text without the characters at ``positions``."""
        drop = set(positions)
        keep = [i for i in range(len(self.text)) if i not in drop]
        return _Working(
            "".join(self.text[i] for i in keep),
            tuple(self.starts[i] for i in keep),
            tuple(self.ends[i] for i in keep),
        )

    def masked(self, spans: Sequence[tuple[int, int]]) -> _Working:
        """This text with each span (sorted, disjoint) replaced by one opaque character."""
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        cursor = 0
        for start, end in [*spans, (len(self.text), len(self.text))]:
            chars.append(self.text[cursor:start])
            starts += self.starts[cursor:start]
            ends += self.ends[cursor:start]
            if start < end:
                chars.append(_OPAQUE)
                starts.append(self.starts[start])
                ends.append(self.ends[end - 1])
            cursor = end
        return _Working("".join(chars), tuple(starts), tuple(ends))


class _LazyPattern:
    """A regular expression compiled on its first use, not at import.

    Compiling the patterns of this module took about a third of ``import asolora_core`` (the
    messaging service imports this module), and a marketplace that never screens a message
    should not pay for it. Only the methods this module calls are offered. Two threads racing
    on the first use both compile the same pattern; either result is the one kept.
    """

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled: re.Pattern[str] | None = None

    def _get(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.source)
        return compiled

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self._get().search(text, pos, endpos)

    def fullmatch(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self._get().fullmatch(text, pos, endpos)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self._get().finditer(text)

    def findall(self, text: str) -> list[str]:
        return self._get().findall(text)


# Single letters separated by single spaces ('j o h n', 'c a l l'): a disguise that is
# read with the spaces taken out. Digits are left alone (the phone rules read spaced digits).
_SPACED_LETTERS = _LazyPattern(r"(?<![^\W\d_])[^\W\d_](?:[^\S\n][^\W\d_])+(?![^\W\d_])")


def _normalise(text: str) -> _Working:
    """The working text of ``text``: folded characters, redaction marks as opaque
    characters, letter-spaced words closed up."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        if text.startswith(REDACTION_MARK, i):
            chars.append(_OPAQUE)
            starts.append(i)
            ends.append(i + len(REDACTION_MARK))
            i += len(REDACTION_MARK)
            continue
        folded = _fold(text[i])
        chars.append(folded)
        starts += [i] * len(folded)
        ends += [i + 1] * len(folded)
        i += 1
    working = _Working("".join(chars), tuple(starts), tuple(ends))
    spaces = [
        m.start() + k
        for m in _SPACED_LETTERS.finditer(working.text)
        for k in range(1, m.end() - m.start(), 2)
    ]
    return working.without(spaces)


# --- addresses: emails, links, handles -----------------------------------------------------


@attrs.frozen
class _Hit:
    __repr__ = value_repr

    start: int
    end: int
    kind: ContactKind
    reason: str


def _words(text: str) -> tuple[str, ...]:
    """A word list written as one string, to keep the long lists below readable."""
    return tuple(text.split())


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _alternatives(words: Iterable[str]) -> str:
    # longest first, so that 'instagram' is tried before 'insta'
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


_SP = r"[^\S\n]"  # a disguise pads with spaces; it never spreads over lines
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"  # one DNS label
# '@' spaced ('john @ gmail') or 'at'/'@' bracketed ('(at)', '[@]'): never innocent.
_AT_SYMBOL = rf"(?:{_SP}*[(\[{{<]{_SP}*(?:at|@){_SP}*[)\]}}>]{_SP}*|{_SP}*@{_SP}*)"
# 'at' as a word: also everyday English ('arrives at noon'), so it asks for more evidence.
_AT_WORD = rf"{_SP}+at{_SP}+"
_AT = rf"(?:{_AT_SYMBOL}|{_AT_WORD})"
# 'dot' spelled out or bracketed: never innocent between two labels
_DOT_WORD = rf"(?:{_SP}*[(\[{{<]{_SP}*(?:dot|\.){_SP}*[)\]}}>]{_SP}*|{_SP}+dot{_SP}+)"
_DOT_ANY = rf"(?:{_DOT_WORD}|{_SP}*\.{_SP}*)"
# At most four dots in a local part and four labels before a top-level domain: real
# addresses have fewer, and the bound keeps long runs of "a dot a dot ..." linear.
_LOCAL_ANY = rf"[a-z0-9_%+-]+(?:(?:\.|{_DOT_WORD})[a-z0-9_%+-]+){{0,4}}"

#: Top-level domains accepted in a disguised address. Ones that are also everyday words
#: (it, at, in, me, us, to, is, no, be, es, ca) are left out: 'we meet at noon. it was...'.
_DISGUISED_TLDS = _word_set(
    "com net org edu gov info biz io co uk de fr nl ru eu ch pl cn jp au br se dk fi cz pt "
    "gr ie hu ro sk ua mx nz za kr tw hk sg"
)
#: Top-level domains accepted in a bare domain ('shop.example.com'); word-like ones are left
#: out because a missing space after a full stop ('arrived.It was') must not read as a link.
_PLAIN_TLDS = _DISGUISED_TLDS | _word_set(
    "xyz shop store online site app dev ly gl gg cc ws tk ar cl tr be es at"
)
#: A spaced full stop ('mysite . com') is punctuation too often; only these count after one.
_SPACED_TLDS = frozenset({"com", "org"})
#: Mail providers: 'john at gmail' needs no top-level domain to be an address.
_PROVIDERS = _words(
    "gmail googlemail yahoo ymail hotmail outlook icloud aol gmx protonmail yandex zoho mailru"
)
#: Short hosts of messaging apps under word-like top-level domains (wa.me, t.me, ...).
_CHANNEL_HOSTS = _word_set("wa.me t.me m.me fb.me ig.me line.me telegram.me signal.me discord.me")
_OWN_DOMAIN = "asolora.com"

# A plain address, any top-level domain, as mail clients accept them.
_EMAIL_PLAIN = _LazyPattern(
    rf"(?<![a-z0-9_%+-])[a-z0-9_%+-][a-z0-9._%+-]{{0,63}}@(?P<domain>(?:{_LABEL}\.)+[a-z]{{2,24}})"
    r"(?![a-z0-9-])"
)
_TLD_DISGUISED = _alternatives(_DISGUISED_TLDS)
_TLD_SPACED = _alternatives(_SPACED_TLDS)
# Known top-level domains are part of the patterns (not checked afterwards) so that the
# regex backtracks to 'gmail dot com' in 'gmail dot com. You'.
# With '@' or a bracketed 'at', any dot before a known top-level domain ends the address.
# A full stop glued to the word before it and followed by a space ends a sentence ('it @ 5pm.
# tw(at)...'): as a disguised dot it counts only before 'com' or 'org' ('john @ shop. com').
_DOT_NOT_AN_END = rf"(?:{_DOT_WORD}|{_SP}*\.(?!{_SP})|{_SP}+\.{_SP}+)"
_EMAIL_SYMBOL_AT = _LazyPattern(
    rf"(?<![a-z0-9._%+-])(?:{_LOCAL_ANY}){_AT_SYMBOL}"
    rf"(?P<domain>{_LABEL}(?:{_DOT_NOT_AN_END}{_LABEL}){{0,3}}"
    rf"(?:{_DOT_NOT_AN_END}(?:{_TLD_DISGUISED})|\.{_SP}+(?:{_TLD_SPACED})))(?![a-z0-9])"
)
# With the word 'at', a spaced full stop only counts before 'com' or 'org': 'we arrive at
# noon. It was...' is a sentence, 'john at gmail . com' an address.
_EMAIL_WORD_AT = _LazyPattern(
    rf"(?<![a-z0-9._%+-])(?:{_LOCAL_ANY})(?P<at>{_AT_WORD})"
    rf"(?P<domain>{_LABEL}(?:{_DOT_ANY}{_LABEL}){{0,3}}"
    rf"(?:(?:{_DOT_WORD}|\.)(?:{_TLD_DISGUISED})|{_SP}*\.{_SP}*(?:{_TLD_SPACED})))(?![a-z0-9])"
)
# 'john at gmail': a known mail provider needs no top-level domain; after one, a top-level
# domain may even be written with a bare space ('john at gmail com').
_EMAIL_PROVIDER = _LazyPattern(
    rf"(?<![a-z0-9._%+-])(?:{_LOCAL_ANY}){_AT}(?P<domain>(?:{_alternatives(_PROVIDERS)})"
    rf"(?:(?:{_DOT_WORD}|\.)[a-z]{{2,3}}|{_SP}*\.{_SP}*(?:{_TLD_SPACED})"
    rf"|{_SP}+(?:{_TLD_DISGUISED})){{0,2}})(?![a-z0-9])"
)
# No 'at' and no 'dot' at all: a user name, a mail provider and a top-level domain side by
# side ('adalovelace gmail com', 'ada.lovelace hotmail co uk', 'adalovelace#gmail.com').
_EMAIL_BARE = _LazyPattern(
    rf"(?<![a-z0-9._%+@-])(?P<local>{_LOCAL_ANY})(?:{_SP}+|{_SP}*[#&]{_SP}*)"
    rf"(?P<domain>(?:{_alternatives(_PROVIDERS)})(?:(?:{_SP}+|{_SP}*[.,_]{_SP}*)"
    rf"(?:{_TLD_DISGUISED})){{1,2}})(?![a-z0-9])"
)
# An email cue, then a user name and a mail provider ('email me at adalovelace gmail',
# 'e-mail: ada_l yahoo').
_EMAIL_CUED = _LazyPattern(
    rf"(?<![a-z0-9])e?{_SP}?-?{_SP}?mail(?:{_SP}+(?:me|us))?(?:{_SP}+(?:address|id))?"
    rf"(?:{_SP}+(?:is|at|to|on))?{_SP}*[:=-]?{_SP}*"
    rf"(?P<local>[a-z0-9_%+-][a-z0-9._%+-]*){_SP}+(?P<domain>{_alternatives(_PROVIDERS)})"
    r"(?![a-z0-9])"
)
#: Every pattern that needs a mail provider's name: skipped when no name is in the text.
_PROVIDER_NAMED = _LazyPattern(_alternatives(_PROVIDERS))
# 'gmail: johndoe99', 'my hotmail is johndoe': a mail provider and a user name.
_EMAIL_PROVIDER_USER = _LazyPattern(
    rf"(?<![a-z0-9])(?:(?:my{_SP}+)?(?:{_alternatives(_PROVIDERS)})(?:{_SP}+(?:id|address|account))?"
    rf"{_SP}*[:=]|my{_SP}+(?:{_alternatives(_PROVIDERS)})(?:{_SP}+(?:id|address|account))?"
    rf"{_SP}+is){_SP}*(?P<handle>[a-z0-9_](?:[a-z0-9._-]{{0,30}}[a-z0-9_])?)(?![a-z0-9_@])"
)
# A URL with a scheme or 'www.': a link out, whatever the domain.
_URL = _LazyPattern(r"(?<![a-z0-9])(?:https?://|www\.)[^\s<>\"'\ufffc]+")
# A bare domain with a known top-level domain ('myshop.de'), a known second level under a
# country ('yahoo.co.in'), or a '.me' host (kept only for messaging apps: 'wa.me', 't.me'),
# and an optional path ('wa.me/4477...', 'instagram.com/shop').
_DOMAIN_PLAIN = _LazyPattern(
    rf"(?<![a-z0-9_%+@.-])(?P<host>(?:{_LABEL}\.)+"
    rf"(?:(?:co|com|org|net|ac|gov)\.[a-z]{{2}}|{_alternatives(_PLAIN_TLDS)}|me))(?![a-z0-9-])"
    r"(?:/[^\s<>\"'\ufffc]*)?"
)
# A domain with 'dot' spelled out ('mysite dot com', 'wa dot me') or a spaced full stop
# before 'com' or 'org' ('mysite . com').
_DOMAIN_DISGUISED = _LazyPattern(
    rf"(?<![a-z0-9_%+@.-])(?P<host>{_LABEL}(?:(?:\.|{_DOT_WORD}){_LABEL}){{0,3}})"
    rf"(?:(?P<dot>{_DOT_WORD})(?P<tld>{_TLD_DISGUISED}|me)"
    rf"|(?P<spaced>{_SP}+\.{_SP}*|\.{_SP}+)(?P<spaced_tld>{_TLD_SPACED}))(?![a-z0-9])"
)

#: Messaging apps whose names are not everyday words.
_APPS_STRONG = _words(
    "whatsapp whats app whatsap watsapp whatapp wa telegram tg wechat weixin skype instagram "
    "insta ig facebook fb messenger snapchat discord viber kik threema tiktok"
)
#: App names that are also words ('drop me a line', 'a weak signal'): only with a handle.
_APPS_WEAK = _words("line signal snap imo")
_APP_STRONG = rf"(?:{_alternatives(w.replace(' ', _SP + '?') for w in _APPS_STRONG)})"
_APP_ANY = (
    rf"(?:{_alternatives([*(w.replace(' ', _SP + '?') for w in _APPS_STRONG), *_APPS_WEAK])})"
)
_HANDLE = r"(?P<handle>[a-z0-9_](?:[a-z0-9._-]{0,30}[a-z0-9_])?)(?![a-z0-9_])"
_HANDLE_LABEL = r"(?:id|handle|user\s?name|user|name|account|acc|nick)"
#: Words that follow 'my ig is' or 'whatsapp:' without being a handle.
_NOT_HANDLES = _word_set(
    "not down broken working the a an same also private closed blocked here there this that "
    "it your my our please yes no ok okay fine great good active inactive new old offline "
    "online and or but"
)

# 'add me on whatsapp', 'text us via telegram', 'find me on insta': an invitation out.
_HANDLE_INVITE = _LazyPattern(
    r"(?<![a-z0-9])(?:add|message|msg|text|txt|call|ring|contact|reach|find|follow|ping|dm|pm|"
    r"write(?:\s+to)?|send|hit|catch|chat\s+with|talk\s+to)"
    rf"\s+(?:me|us)(?:\s+up)?\s+(?:on|via|at|through|over|in|by|using|with)\s+{_APP_ANY}"
    r"(?![a-z0-9])"
)
# 'let's move to whatsapp', 'continue on telegram': taking the conversation elsewhere.
_HANDLE_MOVE = _LazyPattern(
    r"(?<![a-z0-9])(?:move|moving|switch|continue|talk|chat|speak|write)"
    rf"(?:\s+(?:this|it|there))?\s+(?:to|on|over\s+to|via|in)\s+{_APP_STRONG}(?![a-z0-9])"
)
# 'whatsapp me', 'skype us': the app name used as a verb.
_HANDLE_APP_VERB = _LazyPattern(
    r"(?<![a-z0-9])(?:whats\s?app|whatsap|watsapp|telegram|skype|viber|wechat|snapchat)"
    r"\s+(?:me|us)(?![a-z0-9])"
)
# 'telegram: name', 'insta handle = name': a strong app name, a colon, a handle.
_HANDLE_COLON = _LazyPattern(
    rf"(?<![a-z0-9]){_APP_STRONG}(?:{_SP}*{_HANDLE_LABEL})?{_SP}*[:=]{_SP}*@?{_HANDLE}"
)
# 'telegram @name', 'line: @name': any app name followed by an @handle.
_HANDLE_AT = _LazyPattern(
    rf"(?<![a-z0-9]){_APP_ANY}(?:{_SP}*{_HANDLE_LABEL})?{_SP}*[:=]?{_SP}*@{_HANDLE}"
)
# 'my ig is name', 'my telegram handle: name'.
_HANDLE_MY = _LazyPattern(
    rf"(?<![a-z0-9])my\s+{_APP_STRONG}(?:{_SP}+{_HANDLE_LABEL})?{_SP}*(?:is|=|:){_SP}*@?{_HANDLE}"
)
# '@name on insta', '@name via telegram'.
_HANDLE_MENTION = _LazyPattern(rf"@{_HANDLE}\s+(?:on|at|via|in)\s+{_APP_ANY}(?![a-z0-9])")


# Vanity numbers: letters standing for digits after a toll-free or area prefix
# ('1-800-FLOWERS', 'call 0800 CALL NOW', '(212) MY-PIZZA'). The letters and digits after the
# prefix, one to three groups, are read by _accept_vanity: 6 to 8 characters with 3 letters
# or more. A bare toll-free code ('800-FLOWERS') counts only when glued by '-' or '.' and
# followed by exactly 7: 'I need 800 flowers' is a quantity.
_TOLL_FREE = r"8(?:00|88|77|66|55|44|33)"
# A full stop followed by a space ends a sentence: it never joins the parts of a vanity
# number ('... 1-253. ISBN 978' is the end of one sentence and the start of the next).
_VANITY_DOT = rf"\.(?!{_SP})"
_VANITY_GROUPS = (
    rf"(?P<v>[a-z0-9]+(?:(?:{_SP}{_SP}?|-{_SP}?|{_VANITY_DOT})[a-z0-9]+){{0,2}})(?![a-z0-9@])"
)
_VANITY_SEP = rf"(?:{_SP}?-{_SP}?|{_SP}?{_VANITY_DOT}|{_SP}{_SP}?)?"
_VANITY_CUES = (
    r"call|calls|calling|dial|phone|ring|text|txt|sms|tel|telephone|mobile|cell|whatsapp|"
    r"hotline|freephone|tollfree|toll-free"
)
_AREA = rf"(?:{_TOLL_FREE}|[2-9][0-9]{{2}})"
_VANITY_STRONG = _LazyPattern(
    # an optional phone cue ('call', 'dial us on'): then any 3-4 digit code will do
    rf"(?P<cue>(?<![a-z0-9])(?:{_VANITY_CUES})(?:{_SP}+(?:us|me|now|free|on|at|the|our|"
    rf"number|no|line))*{_SP}*[:.]?{_SP}*)?"
    # with no cue, a prefix glued to digits before it is inside that number ('0782827-1-1-253')
    rf"(?P<num>(?(cue)|(?<![a-z0-9+])(?<![0-9][-.]))(?:"
    rf"\+{_SP}?1{_VANITY_SEP}\(?{_AREA}\)?"  # +1 212, +1-800
    rf"|1[-.]\(?{_AREA}\)?|1{_SP}?\({_AREA}\)|1{_SP}{_TOLL_FREE}"  # 1-800, 1 (212), 1 800
    rf"|\({_AREA}\)"  # (212)
    r"|0(?:800|808|500)"  # UK freephone
    r"|(?(cue)\(?[0-9]{3,4}\)?|(?!))"  # after a cue, any code
    rf")){_VANITY_SEP}{_VANITY_GROUPS}"
)
_VANITY_WEAK = _LazyPattern(
    rf"(?<![a-z0-9+(])(?:{_TOLL_FREE})[-.](?P<v>[a-z0-9]+(?:[-.][a-z0-9]+){{0,2}})(?![a-z0-9@])"
)


def _vanity_end(m: re.Match[str], sizes: range) -> int | None:
    """Where the vanity part ends: the fewest groups that make ``sizes`` characters with at
    least three letters, the first group with a letter (the rest of the sentence is not part
    of the number)."""
    count = letters = 0
    pos = m.start("v")
    if not re.match(r"[0-9]*[a-z]", m["v"]):
        return None  # '1.299.999 for': digits first are the phone rules' business
    for group in re.finditer(r"[a-z0-9]+", m["v"]):
        count += len(group.group())
        letters += sum(c.isalpha() for c in group.group())
        end = pos + group.end()
        if count in sizes and letters >= 3:
            return end
        if count > sizes.stop:
            return None
    return None


def _accept_vanity_strong(m: re.Match[str]) -> _Hit | None:
    end = _vanity_end(m, range(6, 9))
    if end is None:
        return None
    return _Hit(m.start("num"), end, ContactKind.PHONE, "phone number with letters for digits")


def _accept_vanity_weak(m: re.Match[str]) -> _Hit | None:
    end = _vanity_end(m, range(7, 8))
    if end is None or end != m.end("v"):
        return None
    return _Hit(m.start(), end, ContactKind.PHONE, "phone number with letters for digits")


def _host_is_ours(host: str) -> bool:
    return host == _OWN_DOMAIN or host.endswith("." + _OWN_DOMAIN)


def _canonical_host(domain: str) -> str:
    """'asolora (dot) com' -> 'asolora.com'."""
    return re.sub(rf"{_DOT_ANY}", ".", domain).strip()


def _accepted(
    pattern: _LazyPattern, text: str, accept: Callable[[re.Match[str]], _Hit | None]
) -> Iterator[_Hit]:
    """Each accepted match; after a refused one, look again one character further on, so a
    refused long match cannot hide an acceptable one inside it."""
    pos = 0
    while (match := pattern.search(text, pos)) is not None:
        hit = accept(match)
        if hit is None:
            pos = match.start() + 1
        else:
            yield hit
            pos = max(hit.end, match.start() + 1)


def _hit(match: re.Match[str], kind: ContactKind, reason: str, end: int | None = None) -> _Hit:
    return _Hit(match.start(), match.end() if end is None else end, kind, reason)


def _email_reason(matched: str) -> str:
    if re.search(r"(?<![a-z])(?:at|dot)(?![a-z])", matched):
        return "email address written with 'at' and 'dot'"
    if re.search(r"\s|[(\[{<]", matched):
        return "email address with spaces or brackets around '@' and '.'"
    return "email address"


def _accept_email_plain(m: re.Match[str]) -> _Hit | None:
    if _host_is_ours(m["domain"]):
        return None
    return _hit(m, ContactKind.EMAIL, "email address")


def _accept_email_symbol_at(m: re.Match[str]) -> _Hit | None:
    if _host_is_ours(_canonical_host(m["domain"])):
        return None
    return _hit(m, ContactKind.EMAIL, _email_reason(m.group()))


def _accept_email_word_at(m: re.Match[str]) -> _Hit | None:
    domain = _canonical_host(m["domain"])
    if _host_is_ours(domain):
        return None
    if domain == m["domain"] and domain.split(".")[0] not in _PROVIDERS:
        return None  # 'find it at myshop.de': a plain domain after the word 'at' is a link
    return _Hit(
        _name_start(m.string, m.start()), m.end(), ContactKind.EMAIL, _email_reason(m.group())
    )


def _accept_email_provider(m: re.Match[str]) -> _Hit | None:
    return _Hit(
        _name_start(m.string, m.start()), m.end(), ContactKind.EMAIL, _email_reason(m.group())
    )


#: Words that never belong to a user name written before an address: they are the sentence
#: around it ('my email is ada lovelace at gmail', 'I use gmail com').
_NOT_NAMES = _NOT_HANDLES | _word_set(
    "is are was be been me us i you we they he she him them his her their its mine yours "
    "at to on in of for from by via with as so just also then than if when use using used "
    "email mail e address contact reach write send sent message msg here there please pls "
    "thanks thank hi hello hey dear is has have had get got account"
)
# The word just before a position, with the spaces after it: a user name written in two
# words ('ada lovelace at gmail') is one address.
_WORD_BEFORE = _LazyPattern(rf"(?<![^\s(\[{{<])(?P<word>[a-z0-9_-]*[a-z][a-z0-9_-]*){_SP}+$")


def _name_start(text: str, start: int) -> int:
    """Where a disguised address starting at ``start`` really starts: up to two words of a
    name before it are part of it, unless they are everyday words (:data:`_NOT_NAMES`)."""
    if start == 0 or not text[start - 1].isspace():
        return start
    for _ in range(2):
        before = _WORD_BEFORE.search(text, max(0, start - 40), start)
        if before is None or before["word"] in _NOT_NAMES:
            break
        start = before.start()
    return start


def _accept_email_bare(m: re.Match[str]) -> _Hit | None:
    if m["local"] in _NOT_NAMES:
        return None  # 'I use gmail com'
    return _Hit(
        _name_start(m.string, m.start()),
        m.end(),
        ContactKind.EMAIL,
        "email address written without '@' or '.'",
    )


def _accept_email_cued(m: re.Match[str]) -> _Hit | None:
    if m["local"] in _NOT_NAMES:
        return None  # 'email me at my gmail'
    return _Hit(
        m.start("local"), m.end(), ContactKind.EMAIL, "email address written without '@' or '.'"
    )


def _accept_email_provider_user(m: re.Match[str]) -> _Hit | None:
    if not _is_handle(m["handle"], with_at=False):
        return None
    return _hit(m, ContactKind.EMAIL, "email address given as a mail provider and a user name")


def _accept_url(m: re.Match[str]) -> _Hit | None:
    url = m.group().rstrip(".,;:!?)]}'\"")
    host = re.sub(r"^(?:https?://)?", "", url).split("/")[0].split(":")[0].split("@")[-1]
    if _host_is_ours(host) or len(url) <= len("www."):
        return None
    return _hit(m, ContactKind.LINK, "link to an outside site", end=m.start() + len(url))


def _is_channel(host: str) -> bool:
    return any(host == h or host.endswith("." + h) for h in _CHANNEL_HOSTS)


def _accept_domain_plain(m: re.Match[str]) -> _Hit | None:
    host = m["host"]
    if _host_is_ours(host) or (host.endswith(".me") and not _is_channel(host)):
        return None
    url = m.group().rstrip(".,;:!?)]}'\"")
    return _hit(m, ContactKind.LINK, _link_reason(host), end=m.start() + len(url))


def _link_reason(host: str) -> str:
    if _is_channel(host):
        return f"link to a messaging app ({host})"
    return "link to an outside site"


def _accept_domain_disguised(m: re.Match[str]) -> _Hit | None:
    host = _canonical_host(m["host"])
    full = f"{host}.{m['tld'] or m['spaced_tld']}"
    if _host_is_ours(full) or host in {"the", "a", "an"}:
        return None
    if m["tld"] == "me" and not _is_channel(full):
        return None
    return _hit(m, ContactKind.LINK, _link_reason(full) + " written with 'dot'")


def _is_handle(handle: str, *, with_at: bool) -> bool:
    if not re.search(r"[a-z]", handle) or _DIGIT_WORDS.fullmatch(handle):
        return False  # digits, even spelled out, are a phone number for the phone rules
    return with_at or handle not in _NOT_HANDLES


def _handle_acceptor(reason: str, *, with_at: bool) -> Callable[[re.Match[str]], _Hit | None]:
    def accept(m: re.Match[str]) -> _Hit | None:
        at = with_at or "@" in m.group()
        if not _is_handle(m["handle"], with_at=at):
            return None
        return _hit(m, ContactKind.HANDLE, reason)

    return accept


def _accept_always(reason: str) -> Callable[[re.Match[str]], _Hit | None]:
    return lambda m: _hit(m, ContactKind.HANDLE, reason)


_ADDRESS_PATTERNS: tuple[tuple[_LazyPattern, Callable[[re.Match[str]], _Hit | None]], ...] = (
    (_EMAIL_PLAIN, _accept_email_plain),
    (_EMAIL_SYMBOL_AT, _accept_email_symbol_at),
    (_EMAIL_WORD_AT, _accept_email_word_at),
    (_URL, _accept_url),
    (_DOMAIN_PLAIN, _accept_domain_plain),
    (_DOMAIN_DISGUISED, _accept_domain_disguised),
    (_HANDLE_INVITE, _accept_always("invitation to talk on a messaging app")),
    (_HANDLE_MOVE, _accept_always("invitation to talk on a messaging app")),
    (_HANDLE_APP_VERB, _accept_always("invitation to talk on a messaging app")),
    (_HANDLE_COLON, _handle_acceptor("messaging-app handle", with_at=False)),
    (_HANDLE_AT, _handle_acceptor("messaging-app handle", with_at=True)),
    (_HANDLE_MY, _handle_acceptor("messaging-app handle", with_at=False)),
    (_HANDLE_MENTION, _handle_acceptor("messaging-app handle", with_at=True)),
    (_VANITY_STRONG, _accept_vanity_strong),
    (_VANITY_WEAK, _accept_vanity_weak),
)


#: The patterns that need a mail provider's name in the text (one search rules them out).
_PROVIDER_PATTERNS: tuple[tuple[_LazyPattern, Callable[[re.Match[str]], _Hit | None]], ...] = (
    (_EMAIL_PROVIDER, _accept_email_provider),
    (_EMAIL_PROVIDER_USER, _accept_email_provider_user),
    (_EMAIL_BARE, _accept_email_bare),
    (_EMAIL_CUED, _accept_email_cued),
)


def _address_hits(text: str) -> list[_Hit]:
    hits = [
        hit for pattern, accept in _ADDRESS_PATTERNS for hit in _accepted(pattern, text, accept)
    ]
    if _PROVIDER_NAMED.search(text) is not None:
        hits += [
            hit
            for pattern, accept in _PROVIDER_PATTERNS
            for hit in _accepted(pattern, text, accept)
        ]
    return hits


def _merge(hits: Iterable[_Hit]) -> list[_Hit]:
    """Overlapping hits become one, named after the longest of them."""
    merged: list[_Hit] = []
    longest: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if merged and hit.start < merged[-1].end:
            last = merged[-1]
            if hit.end - hit.start > longest[-1].end - longest[-1].start:
                longest[-1] = hit
            top = longest[-1]
            merged[-1] = _Hit(last.start, max(last.end, hit.end), top.kind, top.reason)
        else:
            merged.append(hit)
            longest.append(hit)
    return merged


# --- phone numbers -------------------------------------------------------------------------

# A word (letters and digits) or an opaque stand-in: the units phone runs are built from.
_TOKEN = _LazyPattern(rf"[^\W_]+|{_OPAQUE}")
# A word made only of digits and digit words ('0770', 'seven', '07seven7', 'o77oo9'): the
# letter 'o' as zero only counts next to a real digit (checked in _digits_of).
_DIGIT_WORDS = _LazyPattern(r"(?:[0-9]|zero|one|two|three|four|five|six|seven|eight|nine|oh|o)+")
_DIGIT_PIECE = _LazyPattern(r"[0-9]|zero|one|two|three|four|five|six|seven|eight|nine|oh|o")
_DIGIT_VALUES = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
# A word of digits with letters that look like them: 'i' and 'l' for 1, 'o' for 0
# ('4I5', '267I', 'OOI8'); it needs a real digit, and is not a CPU name ('i7') or a volume
# ('10l'). A run with one is a phone number only from 8 digits on (or after '+'), and not
# when its only look-alikes are two volumes or more ('200l 500l 1000l').
_LOOKALIKE_WORD = _LazyPattern(r"(?=[oil]*[0-9])(?=[0-9o]*[il])[0-9oil]+")
_LOOKALIKE_NOT = _LazyPattern(r"i[0-9]|[0-9]{1,2}l")
# A volume ('200l'): several in one run are a list of sizes, not a phone number.
_VOLUME = _LazyPattern(r"[0-9]+l")
_MULTIPLIERS = {"double": 2, "triple": 3, "treble": 3}
#: Words written between the groups of a spelled-out number ('five five five dash ...').
_DASH_WORDS = frozenset({"dash", "hyphen", "minus"})

# What may sit between two parts of one phone number: a few spaces, one dash, slash,
# underscore or tight dot, or the parentheses of an area code. Never a new line or ', '.
_GAP = _LazyPattern(
    r"[^\S\n]{1,3}|[^\S\n]?[-/_][^\S\n]?|\.|[^\S\n]?\([^\S\n]?|[^\S\n]?\)[^\S\n]?[-.]?[^\S\n]?"
)
# Between two spelled-out parts of one number, also a comma or a semicolon ('five five five,
# one two three'), or spaces around a spelled-out dash.
_SPELLED_GAP = _LazyPattern(r"[^\S\n]{0,2}[,;:]?[^\S\n]{1,3}|[^\S\n]?[-,;:][^\S\n]?")
# '+', '(+', '+(' or '(' just before a run: part of the number, and '+' marks it as one.
_RUN_PREFIX = _LazyPattern(r"(?:\([^\S\n]?)?\+[^\S\n]?(?:\([^\S\n]?)?$|\($")

# Dates: ISO, day-month-year or month-day-year with '-', '/' or '.'. The look-arounds keep a
# dotted or dashed phone number ('06.12.34.56.78') whole.
_DATE = _LazyPattern(
    r"(?<![0-9])(?<![0-9][-./])"
    r"(?:[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}|[0-9]{1,2}[-./][0-9]{1,2}[-./](?:[0-9]{4}|[0-9]{2}))"
    r"(?![0-9])(?![-./][0-9])"
)
# A spaced date needs a 4-digit year, and nothing number-like around it: '26 11 2026' is a
# date, '0770 12 11 2026' the end of a phone number.
_SPACED_DATE = _LazyPattern(
    r"(?<![0-9])(?<![0-9][^\S\n])(?<![0-9][-./])"
    r"[0-9]{1,2}[^\S\n][0-9]{1,2}[^\S\n](?:19|20)[0-9]{2}"
    r"(?![0-9])(?![^\S\n]?[-./]?[^\S\n]?[0-9])"
)
# Currency symbols and codes: digits next to one are a price, never a phone number.
_CURRENCY = (
    r"(?:[€$£¥₹₽₩¢]|(?<![a-z])(?:eur|euros?|usd|dollars?|gbp|pounds?|chf|pln|zl|sek|nok|dkk|"
    r"czk|huf|ron|jpy|cny|rmb|cad|aud|nzd|inr|brl|mxn|zar)(?![a-z]))"
)
_AMOUNT = (
    r"(?<![0-9.,])(?:[0-9]{1,3}(?:[ ,.'][0-9]{3})+(?:[.,][0-9]{1,2})?|[0-9]+(?:[.,][0-9]{1,2})?)"
    r"(?![0-9])"
)
# An amount next to a currency ('€1,299.99', '$ 1 299', '12.50 EUR') is a price.
_MONEY = _LazyPattern(rf"{_CURRENCY}[^\S\n]?{_AMOUNT}|{_AMOUNT}[^\S\n]?{_CURRENCY}")
# A year range ('2019-2026') and a US ZIP+4 code ('90210-1234') would otherwise make 8 and
# 9 digits.
_YEAR_RANGE = _LazyPattern(
    r"(?<![0-9])(?<![0-9][-./])(?:19|20)[0-9]{2}[^\S\n]?[-/][^\S\n]?(?:19|20)[0-9]{2}"
    r"(?![0-9])(?![-./][0-9])"
)
_ZIP4 = _LazyPattern(r"(?<![0-9])(?<![0-9][-./])[0-9]{5}-[0-9]{4}(?![0-9])(?![-./][0-9])")
# Shapes of a run that mean a number, not a phone, when no keyword says otherwise.
_THOUSANDS = _LazyPattern(r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+")
_DECIMAL = _LazyPattern(r"[0-9]+\.[0-9]{2}")
# A full stop followed by a space, or other end-of-sentence punctuation: keywords stay in
# their sentence.
_SENTENCE_BREAK = _LazyPattern(r"[!?;|\n]|\.(?:\s|$)")

#: Words that make the next number a phone number (rule e).
_PHONE_CUES = _word_set(
    "phone phones telephone tel tlf tfn ph call calls calling ring dial text txt sms mobile "
    "mob cell cellphone handy telefon telefono teléfono téléphone whatsapp whatsap watsapp wa "
    "viber signal telegram wechat skype contact reach fax hotline landline"
)
#: Words that make the next number a reference, not a phone number (rule e).
_REFERENCE_WORDS = _word_set(
    "order orders ord tracking track tracked trk parcel parcels package pkg shipment shipping "
    "consignment awb waybill delivery dhl ups usps fedex gls dpd hermes postnl sku ean upc "
    "gtin isbn asin mpn model ref reference invoice inv receipt transaction txn payment iban "
    "bic swift account acct postcode zip zipcode postal plz serial sn imei item items article "
    "art product part qty quantity batch lot code voucher coupon card ticket case booking size "
    "sizes confirmation pin vat tax reg registration"
)
#: Abbreviations whose full stop does not end the sentence ('Tel. 0770...').
_ABBREVIATIONS = _word_set("tel ph mob no nr num ref art qty tlf inv approx ca st")

_MAX_DIGITS = 15  # E.164
_WINDOW = 5  # words before a run in which a keyword counts


class _T(enum.Enum):
    DIGITS = enum.auto()  # digits and digit words
    MULTIPLIER = enum.auto()  # 'double', 'triple'
    WORD = enum.auto()  # letters only
    CODE = enum.auto()  # letters glued to digits, or digits inside a date/price
    OPAQUE = enum.auto()  # an address already found or a redaction mark


@attrs.frozen
class _Token:
    __repr__ = value_repr

    start: int
    end: int
    kind: _T
    text: str
    digits: str = ""
    lookalike: bool = False  #: letters stand for digits in it ('4i5', 'ooi8')


def _lookalike_digits(word: str) -> str | None:
    """The digits a word of digits and look-alike letters spells ('267i' -> '2671'), or
    None."""
    if _LOOKALIKE_WORD.fullmatch(word) is None or _LOOKALIKE_NOT.fullmatch(word) is not None:
        return None
    return word.replace("o", "0").replace("i", "1").replace("l", "1")


def _digits_of(word: str) -> str | None:
    """The digits a word spells, or None if it is not made of digits and digit words."""
    if not _DIGIT_WORDS.fullmatch(word):
        return None
    pieces = _DIGIT_PIECE.findall(word)
    if "o" in pieces and not any(p.isdigit() for p in pieces):
        return None  # 'o' and 'oo' alone are letters
    return "".join(p if p.isdigit() else _DIGIT_VALUES[p] for p in pieces)


def _blocked_spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _MONEY.finditer(text)]
    spans += [m.span() for m in _YEAR_RANGE.finditer(text)]
    spans += [m.span() for m in _ZIP4.finditer(text)]
    for pattern in (_DATE, _SPACED_DATE):
        spans += [m.span() for m in pattern.finditer(text) if _is_date(m.group())]
    return spans


def _is_date(text: str) -> bool:
    """A real calendar day: year-month-day, day-month-year or month-day-year."""
    parts = [int(p) for p in re.split(r"[-./\s]", text)]
    if text[:4].isdigit():
        return 1 <= parts[1] <= 12 and 1 <= parts[2] <= 31
    first, second = parts[0], parts[1]
    return (1 <= first <= 31 and 1 <= second <= 12) or (1 <= first <= 12 and 1 <= second <= 31)


def _tokens(text: str) -> list[_Token]:
    blocked = _blocked_spans(text)
    tokens = []
    for m in _TOKEN.finditer(text):
        word = m.group()
        start, end = m.span()
        if word == _OPAQUE:
            tokens.append(_Token(start, end, _T.OPAQUE, word))
        elif word in _MULTIPLIERS:
            tokens.append(_Token(start, end, _T.MULTIPLIER, word))
        elif (digits := _digits_of(word)) is not None and not any(
            s < end and start < e for s, e in blocked
        ):
            tokens.append(_Token(start, end, _T.DIGITS, word, digits))
        elif (
            digits is None
            and (alike := _lookalike_digits(word)) is not None
            and not any(s < end and start < e for s, e in blocked)
        ):
            tokens.append(_Token(start, end, _T.DIGITS, word, alike, lookalike=True))
        elif re.search(r"[0-9]", word) or digits is not None:
            tokens.append(_Token(start, end, _T.CODE, word))
        else:
            tokens.append(_Token(start, end, _T.WORD, word))
    return tokens


def _run_digits(run: Sequence[_Token]) -> str:
    out = []
    times = 1
    for token in run:
        if token.kind is _T.MULTIPLIER:
            times = _MULTIPLIERS[token.text]
            continue
        out.append(token.digits[:1] * times + token.digits[1:])
        times = 1
    return "".join(out)


def _is_ascending_list(run: Sequence[_Token]) -> bool:
    """'36 38 40 42', '2019 2020 2021': three or more numbers of one length, rising, the first
    not starting with 0 (which '06 12 34 56 78', a French phone number, does)."""
    numbers = [t.text for t in run]
    if len(numbers) < 3 or not all(n.isdigit() for n in numbers) or numbers[0][0] == "0":
        return False
    values = [int(n) for n in numbers]
    same_length = len({len(n) for n in numbers}) == 1
    return same_length and all(a < b for a, b in itertools.pairwise(values))


def _is_gtin(digits: str) -> bool:
    if len(digits) not in (13, 14) or digits.startswith("0"):
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _keyword(text: str, tokens: Sequence[_Token], first: int, phones: set[int]) -> str | None:
    """'phone' or 'reference' after the nearest keyword before ``tokens[first]`` (rule e)."""
    for k in range(first - 1, max(-1, first - 1 - _WINDOW), -1):
        token = tokens[k]
        gap = text[token.end : tokens[k + 1].start]
        if token.text in _ABBREVIATIONS and gap.startswith("."):
            gap = gap[1:]
        if _SENTENCE_BREAK.search(gap):
            return None
        if token.kind is _T.OPAQUE or k in phones or token.text in _PHONE_CUES:
            return "phone"
        if token.text in _REFERENCE_WORDS:
            return "reference"
    return None


def _is_phone(text: str, tokens: Sequence[_Token], first: int, last: int, plus: bool,
              phones: set[int]) -> bool:  # fmt: skip
    """Rules b-g of the module docstring for the run ``tokens[first:last + 1]``."""
    digits = _run_digits(tokens[first : last + 1])
    limit = _MAX_DIGITS + 2 if digits.startswith("00") else _MAX_DIGITS
    if len(digits) < 6 or len(digits) > limit:  # (b)
        return False
    start = tokens[first].start
    if "#" in text[max(0, start - 3) : start]:  # (c)
        return False
    if first > 0:
        before = tokens[first - 1]
        attached = text[before.end : start] in {"-", "_", "/"}
        if attached and before.kind in (_T.WORD, _T.CODE) and before.text not in _PHONE_CUES:
            return False  # (c)
    if plus:  # (d)
        return len(digits) >= 7
    alike = [t.text for t in tokens[first : last + 1] if t.lookalike]
    if alike and (len(digits) < 8 or (len(alike) > 1 and all(_VOLUME.fullmatch(a) for a in alike))):
        return False  # letters for digits: only a full-length number ('4I5-555-267I')
    keyword = _keyword(text, tokens, first, phones)  # (e)
    if keyword is not None:
        return keyword == "phone"
    raw = text[start : tokens[last].end]
    if _THOUSANDS.fullmatch(raw) or _DECIMAL.fullmatch(raw) or _is_gtin(digits):  # (f)
        return False
    if _is_ascending_list(tokens[first : last + 1]):  # (f)
        return False
    return len(digits) >= 8  # (g)


def _phone_reason(run: Sequence[_Token]) -> str:
    if any(t.lookalike for t in run):
        return "phone number with letters for digits"
    if any(not t.text.isdigit() for t in run):
        return "phone number partly written in words"
    if len(run) >= 5:
        return "phone number spread out with spaces or punctuation"
    return "phone number"


def _is_spelled(token: _Token) -> bool:
    return token.kind is _T.DIGITS and not token.text.isdigit()


def _joins(text: str, left: _Token, right: _Token) -> bool:
    """Whether ``left`` and ``right`` are two parts of one number: a phone gap, or, between
    two spelled-out parts, a comma too ('five five five, one two three')."""
    if _GAP.fullmatch(text, left.end, right.start):
        return True
    return (
        _is_spelled(left)
        and _is_spelled(right)
        and _SPELLED_GAP.fullmatch(text, left.end, right.start) is not None
    )


def _run_end(text: str, tokens: Sequence[_Token], i: int) -> int:
    """The last token of the run starting at ``tokens[i]``: digits and digit words joined by
    gaps, and by a spelled-out dash ('four five six dash seven eight')."""
    runnable = (_T.DIGITS, _T.MULTIPLIER)
    j = i
    while j + 1 < len(tokens):
        nxt = tokens[j + 1]
        if nxt.kind in runnable and _joins(text, tokens[j], nxt):
            j += 1
        elif (
            nxt.text in _DASH_WORDS
            and j + 2 < len(tokens)
            and tokens[j + 2].kind in runnable
            and _SPELLED_GAP.fullmatch(text, tokens[j].end, nxt.start)
            and _SPELLED_GAP.fullmatch(text, nxt.end, tokens[j + 2].start)
        ):
            j += 2
        else:
            break
    return j


def _phone_hits(text: str) -> list[_Hit]:
    tokens = _tokens(text)
    phones: set[int] = set()  # token indexes inside phone numbers found so far
    hits = []
    runnable = (_T.DIGITS, _T.MULTIPLIER)
    i = 0
    while i < len(tokens):
        if tokens[i].kind not in runnable:
            i += 1
            continue
        j = _run_end(text, tokens, i)
        last = j
        while last >= i and tokens[last].kind is _T.MULTIPLIER:
            last -= 1  # 'double' with nothing after it is a word
        if last >= i:
            start, end = tokens[i].start, tokens[last].end
            prefix = _RUN_PREFIX.search(text, max(0, start - 4), start)
            plus = prefix is not None and "+" in prefix.group()
            if _is_phone(text, tokens, i, last, plus, phones):
                if prefix is not None:
                    start = prefix.start()
                    if "(" in prefix.group() and text.startswith(")", end):
                        end += 1
                hits.append(
                    _Hit(start, end, ContactKind.PHONE, _phone_reason(tokens[i : last + 1]))
                )
                phones.update(range(i, last + 1))
        i = j + 1
    return hits
