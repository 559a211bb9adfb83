"""R27: contact details in messages are found, redacted, flagged or refused by policy."""

from __future__ import annotations

import itertools
import re

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from asolora_core.messaging.contact_policy import (
    DEFAULT_CONTACT_POLICY,
    REDACTION_MARK,
    ContactFinding,
    ContactKind,
    ContactPolicy,
    Screening,
    redact,
    scan,
    screen,
)

EMAIL = ContactKind.EMAIL
PHONE = ContactKind.PHONE
LINK = ContactKind.LINK
HANDLE = ContactKind.HANDLE

# --- the table -----------------------------------------------------------------------------

#: Contact details, most of them in disguise, and the kinds each message must be found to hold.
CONTACTS: list[tuple[str, set[ContactKind]]] = [
    ("Email me: john.doe@gmail.com", {EMAIL}),
    ("john dot doe at gmail dot com", {EMAIL}),
    ("john(at)gmail(dot)com", {EMAIL}),
    ("john [at] gmail [dot] com", {EMAIL}),
    ("john @ gmail . com", {EMAIL}),
    ("write to j.smith {at} outlook {dot} de", {EMAIL}),
    ("my mail is anna AT yahoo DOT co DOT uk", {EMAIL}),
    ("ＪＯＨＮ＠ＧＭＡＩＬ．ＣＯＭ", {EMAIL}),  # noqa: RUF001 - full-width on purpose
    ("reach me at johnsmith at gmail", {EMAIL}),
    ("john.doe＠gmail。com", {EMAIL}),  # noqa: RUF001 - full-width on purpose
    ("Call me on 07700 900123", {PHONE}),
    ("+44 7700 900123", {PHONE}),
    ("+44.7700.900.123", {PHONE}),
    ("(555) 123-4567", {PHONE}),
    ("555 123 4567", {PHONE}),
    ("555-123-4567", {PHONE}),
    ("0 7 7 0 0 9 0 0 1 2 3", {PHONE}),
    ("zero seven seven zero zero nine zero zero one two three", {PHONE}),
    ("07seven7 oo9 oo123", {PHONE}),
    ("my number is oh seven seven double oh nine double oh one two three", {PHONE}),
    ("whatsapp 0612345678", {PHONE}),
    ("Tel. 06 12 34 56 78", {PHONE}),
    ("06.12.34.56.78", {PHONE}),
    ("text me: 555 1234", {PHONE}),
    ("０７７００ ９００１２３", {PHONE}),  # noqa: RUF001 - full-width on purpose
    ("0049 30 12345678", {PHONE}),
    ("+1 (555) 123-4567", {PHONE}),
    ("Call 07700\u200b900123", {PHONE}),
    ("٠٧٧٠٠٩٠٠١٢٣", {PHONE}),
    ("07700-900-123", {PHONE}),
    ("my phone is five five five one two three four", {PHONE}),
    ("wa.me/447700900123", {LINK}),
    ("t.me/shopguy", {LINK}),
    ("https://www.myshop.example/contact", {LINK}),
    ("visit my store at myshop.de", {LINK}),
    ("order from mybrand dot com instead", {LINK}),
    ("instagram.com/cool_shop", {LINK}),
    ("discord.gg/abcdef", {LINK}),
    ("add me on whatsapp", {HANDLE}),
    ("telegram @handle", {HANDLE}),
    ("insta: cool.shop", {HANDLE}),
    ("@cool_shop on insta", {HANDLE}),
    ("my ig is cool_shop", {HANDLE}),
    ("find us on facebook", {HANDLE}),
    ("Snapchat: shopgirl99", {HANDLE}),
    ("Text me on Signal", {HANDLE}),
    ("line: @shopjp", {HANDLE}),
    ("wechat id: shop_cn", {HANDLE}),
    ("Skype me", {HANDLE}),
    ("gmail: johndoe99", {EMAIL}),
    ("j o h n @ g m a i l . c o m", {EMAIL}),
    ("c a l l  me 555 1234", {PHONE}),
    (
        "0\ufe0f\u20e37\ufe0f\u20e37\ufe0f\u20e30\ufe0f\u20e30\ufe0f\u20e39\ufe0f\u20e3 123 4567",
        {PHONE},
    ),
    ("DM me on instagram", {HANDLE}),
    ("let's move to whatsapp", {HANDLE}),
    ("whatsapp me at 555 1234", {HANDLE, PHONE}),
    ("email john@gmail.com or call +33 6 12 34 56 78", {EMAIL, PHONE}),
    # spelled out with punctuation between the groups
    ("five five five, one two three - four five six seven", {PHONE}),
    ("five five five, one two three dash four five six seven", {PHONE}),
    ("my number: seven seven zero, nine double oh, one two three", {PHONE}),
    ("five five five; one two three; four five six seven", {PHONE}),
    ("555 dash 123 dash 4567", {PHONE}),
    ("Five Five Five , One Two Three , Four Five Six Seven", {PHONE}),
    # vanity numbers: letters for digits after a toll-free or area prefix
    ("1-800-FLOWERS", {PHONE}),
    ("order by phone at 1-800-FLOWERS today", {PHONE}),
    ("call 0800 CALL NOW", {PHONE}),
    ("+1 800 GET CASH", {PHONE}),
    ("1-888-MY-LOANS", {PHONE}),
    ("(212) MY-PIZZA", {PHONE}),
    ("dial 555 FLOWERS", {PHONE}),
    ("800-FLOWERS", {PHONE}),
    # a sentence's full stop is not part of the detail before it (found by the property below)
    ("I'll send it @ 5pm. tw(at)shop(dot)io", {EMAIL}),
    ("0782827-1-1-253. ISBN 978-3-16-148410-0", {PHONE}),
    # no '@' and no 'dot': a user name, a mail provider and a top-level domain side by side
    ("email me at adalovelace gmail com", {EMAIL}),
    ("ada lovelace at gmail", {EMAIL}),
    ("adalovelace at gmail com", {EMAIL}),
    ("ada lovelace gmail com", {EMAIL}),
    ("ada.lovelace hotmail co uk", {EMAIL}),
    ("mail me: adalovelace gmail", {EMAIL}),
    ("e-mail: ada_l yahoo", {EMAIL}),
    ("adalovelace#gmail.com", {EMAIL}),
    ("write to ada lovelace @ outlook . com", {EMAIL}),
    # letters that look like digits: I and l for 1, O for 0
    ("4I5-555-267I", {PHONE}),
    ("O2O 7946 OOI8", {PHONE}),
    ("call 4I5 555 267I", {PHONE}),
    ("+44 77OO 9OO l23", {PHONE}),
    ("(4l5) 555-267l", {PHONE}),
    ("my number O7700 9OOI23", {PHONE}),
    ("4l5.555.267l", {PHONE}),
]

#: Legitimate marketplace talk that looks like contact details and must pass untouched.
INNOCENT: list[str] = [
    "Your order #A-100234 has shipped",
    "Order ORD-2026-000123 is confirmed",
    "Tracking: 1Z999AA10123456784",
    "JD014600006281234567 is the tracking code",
    "tracking 9400 1000 0000 0000 0000 00",
    "We use DHL, shipment 00340434161234567890",
    "The price is €1,299.99",
    "It costs 12.50 EUR",
    "$ 1 299 for the pair",
    "Order total: 1 234 567 ₩",
    "You saved 25% (€12.50) today",
    "Price 1.299.999 for the whole lot",
    "Delivery on 2026-11-26",
    "Delivery on 26/11/2026",
    "Expected Nov 26, 2026",
    "Courier arrives at 10:30",
    "Meeting at 10.30 on 26.11.2026",
    "Between 2019-2026 we sold 500 units",
    "3 x 250g of coffee",
    "qty 12",
    "Ship to SW1A 1AA, London",
    "75008 Paris",
    "10115 Berlin",
    "Beverly Hills 90210",
    "ZIP 90210-1234",
    "SKU 4006381333931",
    "4006381333931",
    "model XK-2200",
    "EAN 5901234123457",
    "Invoice 2026-000123456",
    "Parcel 12345678 left the depot",
    "Call me when the parcel 12345678 arrives",
    "Thanks! Order 1234567 and 7654321 shipped",
    "Batch no. 20261126 expires 2027-01-01",
    "IBAN DE89 3704 0044 0532 0130 00",
    "Card ending 4242",
    "Reference: 2026/11/26-0042",
    "Size EU 42, UK 8",
    "Dimensions 120x80x40 cm",
    "Version 2.10.3 of the manual",
    "Opening hours 9-17, Mon-Fri",
    "Flat 12, 34 High Street",
    "Phone case for iPhone 15, model A2846",
    "I'll be at home",
    "It arrives at noon",
    "Meet at the shop. Come at 5",
    "Lovely polka dot dress",
    "Dot the i's and cross the t's at once",
    "I'll send it @ 5pm",
    "@john thanks for the quick reply",
    "The signal was weak in the warehouse",
    "Drop me a line if the size is wrong",
    "I saw it on instagram yesterday",
    "My whatsapp is not working, reply here please",
    "e.g. the blue one, i.e. size M",
    "See asolora.com/help for returns",
    "Write to support@asolora.com",
    "Sold at the market? No, only here on asolora",
    "Sizes 36 38 40 42 44 46",
    "Available in 36 38 40 42 44",
    "Years 2019 2020 2021 2022",
    "My order number is 12345678",
    "Call me about order 12345678",
    "ISBN 978-3-16-148410-0",
    "Timestamp 2026-11-26T10:30:00Z",
    "Order placed on 26.11.2026 at 14:05, total 59,90 €",
    "Receipt no. 2026 0000 1234",
    "I saw it on tiktok",
    "Call me Ishmael",
    "The line is busy",
    "Add me to the waiting list",
    "Follow the instructions on the box",
    "Text on the shirt is wrong",
    "Plain www.asolora.com/orders and https://asolora.com/o/123",
    # order talk next to the disguises above: quantities, sizes, product names
    "I need 800 flowers for the wedding",
    "We sold 1800 pieces last year",
    "1 200 pieces in total",
    "The 800-count sheets are back",
    "Galaxy S24 Ultra 512GB, 2 of them",
    "Nike Air Max 270 React, size 42",
    "I ordered two, got one",
    "One, two, three, four: all arrived",
    "Sizes six, eight and ten",
    "Add one dash of salt",
    "Call 2 days before delivery",
    "Pack of 500 - 250 left",
    # next to the letter-for-digit and marker-less disguises: processors, volumes, mail
    # providers named in passing
    "Intel i7 12700 and i5 12400 in stock",
    "Compare Ryzen 5 7600 i5 12400",
    "Call me about my i7-12700 laptop",
    "Tanks of 5l 10l 20l",
    "Drums 200l 500l 1000l available",
    "I need 10l of paint",
    "Oil 1l bottles, 2 of them",
    "Model IL-1000, colour O2",
    "I use gmail, not outlook",
    "My gmail is not working, reply here please",
    "Is your account on hotmail com or gmail com?",
    "Please e-mail the outlook for next week",
    "Yahoo mail sent it to spam",
    "The order arrived via gmail notification at 10:30",
    "The outlook for delivery is good: 2 days",
    "Need 2l, 5l and 10l bottles",
    "Room 1O1, floor 2",
    "Hotmail users: check your spam folder",
    "Gmail com and yahoo com both work",
    "I7 or i9? The i9 13900 is 20% faster",
    "Colour code 0I1, 3 pieces",
    "send it to ada lovelace, 12 High Street",
]


def _kinds(text: str) -> set[ContactKind]:
    return {finding.kind for finding in scan(text)}


@pytest.mark.parametrize(("message", "expected"), CONTACTS)
def test_r27_contact_details_in_disguise_are_found(
    message: str, expected: set[ContactKind]
) -> None:
    """R27: an email, phone, link or handle is found however it is disguised."""
    assert _kinds(message) == expected


@pytest.mark.parametrize("message", INNOCENT)
def test_r27_legitimate_text_passes_untouched(message: str) -> None:
    """R27: order numbers, tracking, prices, dates, postcodes and codes are not contacts."""
    assert scan(message) == ()
    assert redact(message) == message


def test_r27_the_table_is_large_enough() -> None:
    """R27: at least 35 disguised contact details and 35 look-alike innocent messages."""
    assert len(CONTACTS) >= 35
    assert len(INNOCENT) >= 35
    assert len(CONTACTS) + len(INNOCENT) >= 70


# --- findings ------------------------------------------------------------------------------


def test_r27_a_full_stop_and_a_space_end_the_detail_before_them() -> None:
    """R27: a sentence that follows a contact detail is not read into it: neither as a vanity
    number ('1-253. ISBN 978', '1.818. Between') nor as a disguised dot before a top-level
    domain ('it @ 5pm. tw'); only the contact itself is found."""
    for contact, after in (
        ("0782827-1-1-253", ". ISBN 978-3-16-148410-0"),
        ("+446.5.67112.1.818", ". Between 2019-2026 we sold 500 units"),
    ):
        assert [(f.kind, f.text) for f in scan(contact + after)] == [(PHONE, contact)]
    text = "I'll send it @ 5pm. tw(at)shop(dot)io"
    assert [(f.kind, f.text) for f in scan(text)] == [(EMAIL, "tw(at)shop(dot)io")]


def test_r27_a_user_name_in_two_words_is_removed_whole() -> None:
    """R27: 'ada lovelace at gmail' is one address (adalovelace@gmail...): redaction leaves
    no half of the name, and stops at the everyday words before it."""
    assert redact("ada lovelace at gmail") == REDACTION_MARK
    assert redact("my email is ada lovelace at gmail com") == f"my email is {REDACTION_MARK}"
    assert redact("Thanks! ada lovelace gmail com") == f"Thanks! {REDACTION_MARK}"
    assert redact("email me at adalovelace gmail com") == f"email me at {REDACTION_MARK}"


def test_r27_letters_for_digits_need_a_full_length_number() -> None:
    """R27: 'I'/'l' for 1 and 'O' for 0 make a phone number only from 8 digits on (or after
    '+'): a processor name or a volume next to a number stays order talk."""
    assert [f.reason for f in scan("4I5-555-267I")] == ["phone number with letters for digits"]
    assert scan("i7 12700") == ()
    assert scan("call about 4I5 555") == ()  # 6 digits: not enough with look-alikes
    assert _kinds("call 415 555") == {PHONE}  # the same in digits is, after a phone cue


def test_r27_findings_locate_the_original_text_through_normalisation() -> None:
    """R27: spans point into the ORIGINAL text, full-width and zero-width characters included."""
    text = "Hi! ｊｏｈｎ＠ｇｍａｉｌ．ｃｏｍ or 0770\u200b0 900123, thanks"  # noqa: RUF001 - full-width on purpose
    findings = scan(text)
    assert [(f.kind, f.text) for f in findings] == [
        (EMAIL, "ｊｏｈｎ＠ｇｍａｉｌ．ｃｏｍ"),  # noqa: RUF001 - full-width on purpose
        (PHONE, "0770\u200b0 900123"),
    ]
    for finding in findings:
        assert text[finding.start : finding.end] == finding.text


def test_r27_findings_are_sorted_with_a_reason() -> None:
    """R27: findings come in text order, each with a human reason."""
    findings = scan("call 07700 900123 or mail john at gmail dot com, or t.me/shop")
    assert [f.kind for f in findings] == [PHONE, EMAIL, LINK]
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    assert findings[1].reason == "email address written with 'at' and 'dot'"
    assert all(f.reason for f in findings)


def test_r27_overlapping_matches_are_merged_into_one_finding() -> None:
    """R27: an invitation and the handle after it overlap and become one finding."""
    (finding,) = scan("add me on insta: cool_shop")
    assert finding.kind is HANDLE
    assert finding.text == "add me on insta: cool_shop"


def test_r27_phone_cue_lets_a_short_number_through_and_a_reference_word_stops_a_long_one() -> None:
    """R27 precedence: the nearest keyword before a digit run decides (rule e)."""
    assert _kinds("call 555 1234") == {PHONE}
    assert _kinds("555 1234") == set()
    assert _kinds("order 07700 900123") == set()
    assert _kinds("order 12345678, call 07700 900123") == {PHONE}
    assert _kinds("Order 12345678. 07700 900123") == {PHONE}  # a new sentence, no keyword


def test_r27_plus_makes_a_phone_and_more_than_fifteen_digits_never_is() -> None:
    """R27 precedence: '+' marks a phone from 7 digits; E.164 numbers have at most 15."""
    assert _kinds("order +44 1234 567") == {PHONE}
    assert _kinds("call 1234 5678 9012 3456") == set()


def test_r27_finding_must_name_its_span() -> None:
    """A finding whose text does not fit its span cannot be built."""
    with pytest.raises(ValueError, match="does not fit"):
        ContactFinding(kind=EMAIL, start=0, end=3, text="ab", reason="email address")


# --- the policy ----------------------------------------------------------------------------

MESSAGE = "Great! Mail me at john@gmail.com or call 07700 900123."


def test_r27_default_policy_redacts_and_flags() -> None:
    """R27: the default policy is redact AND flag."""
    assert DEFAULT_CONTACT_POLICY is ContactPolicy.REDACT_AND_FLAG
    result = screen(MESSAGE)
    assert result == screen(MESSAGE, ContactPolicy.REDACT_AND_FLAG)
    assert result.text == f"Great! Mail me at {REDACTION_MARK} or call {REDACTION_MARK}."
    assert (result.refused, result.flagged, result.redacted) == (False, True, True)
    assert result.notice == (
        "We removed an email address and a phone number and flagged the message for review: "
        "keep all communication on Asolora."
    )


def test_r27_refuse_keeps_the_text_and_refuses() -> None:
    """R27 REFUSE: the text is unchanged and the service will raise."""
    result = screen(MESSAGE, ContactPolicy.REFUSE)
    assert result.text == MESSAGE
    assert (result.refused, result.flagged, result.redacted) == (True, False, False)
    assert result.notice == (
        "Your message was not sent because it contains an email address and a phone number: "
        "keep all communication on Asolora."
    )


def test_r27_redact_replaces_without_flagging() -> None:
    """R27 REDACT: contact details are replaced, staff are not alerted."""
    result = screen(MESSAGE, ContactPolicy.REDACT)
    assert result.text == redact(MESSAGE)
    assert (result.refused, result.flagged, result.redacted) == (False, False, True)
    assert result.notice == (
        "We removed an email address and a phone number: keep all communication on Asolora."
    )


def test_r27_flag_keeps_the_text_for_staff() -> None:
    """R27 FLAG: the text is posted unchanged and flagged for staff."""
    result = screen(MESSAGE, ContactPolicy.FLAG)
    assert result.text == MESSAGE
    assert (result.refused, result.flagged, result.redacted) == (False, True, False)
    assert result.notice == (
        "Your message contains an email address and a phone number and was flagged for "
        "review: keep all communication on Asolora."
    )


@pytest.mark.parametrize("policy", list(ContactPolicy))
def test_r27_innocent_message_passes_every_policy(policy: ContactPolicy) -> None:
    """R27: without a contact detail, nothing is refused, flagged or redacted, no notice."""
    text = "Your order #A-100234 ships on 2026-11-26, tracking 1Z999AA10123456784."
    assert screen(text, policy) == Screening(
        text=text, findings=(), refused=False, flagged=False, redacted=False
    )
    assert screen(text, policy).notice is None


def test_r27_notice_counts_several_details_of_a_kind() -> None:
    """R27: the sender is told what was removed, counted per kind."""
    result = screen("a@b.com, c@d.org, t.me/shop and telegram: @shop_two")
    assert result.notice == (
        "We removed 2 email addresses, a link to an outside site and a messaging-app contact "
        "and flagged the message for review: keep all communication on Asolora."
    )


def test_r27_screening_keeps_findings_against_the_original_text() -> None:
    """R27: even after redaction the findings locate the details in what was sent."""
    result = screen(MESSAGE)
    assert [MESSAGE[f.start : f.end] for f in result.findings] == [
        "john@gmail.com",
        "07700 900123",
    ]
    assert attrs.evolve(result, text=MESSAGE).findings == result.findings


# --- properties ----------------------------------------------------------------------------

_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)
_TLDS = st.sampled_from(["com", "net", "org", "de", "co.uk", "fr", "io"])


@st.composite
def emails(draw: st.DrawFn) -> str:
    """An email address, plain or in one of the usual disguises."""
    local, domain, tld = draw(_WORDS), draw(_WORDS), draw(_TLDS)
    at, dot = draw(
        st.sampled_from(
            [
                ("@", "."),
                (" at ", " dot "),
                ("(at)", "(dot)"),
                (" [at] ", " [dot] "),
                (" @ ", " . "),
            ]
        )
    )
    return f"{local}{at}{domain}{dot}{tld.replace('.', dot)}"


_DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@st.composite
def phones(draw: st.DrawFn) -> str:
    """A phone number of 10-12 digits, grouped, spread out or partly in words."""
    national = draw(st.text(alphabet="0123456789", min_size=9, max_size=11))
    digits = draw(st.sampled_from(["0", "+44"])) + national
    style = draw(st.sampled_from(["compact", "groups", "spread", "words"]))
    if style == "compact":
        return digits
    if style == "spread":
        return " ".join(digits)
    if style == "words":
        return " ".join(_DIGIT_NAMES[int(d)] if d.isdigit() else d for d in digits)
    separator = draw(st.sampled_from([" ", "-", ".", " - "]))
    body = digits.lstrip("+")
    cuts = sorted(draw(st.sets(st.integers(1, len(body) - 1), min_size=2, max_size=4)))
    groups = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return ("+" if digits.startswith("+") else "") + separator.join(groups)


_innocent = st.sampled_from(INNOCENT)
_contact = st.one_of(emails(), phones())
_joiners = st.sampled_from([" ", ". ", ", ", "\n", " and ", ""])


@st.composite
def mixed_texts(draw: st.DrawFn) -> str:
    """Innocent fragments and contact details, glued together in any order."""
    parts = draw(st.lists(st.one_of(_innocent, _contact, _WORDS), min_size=1, max_size=6))
    return "".join(part + draw(_joiners) for part in parts)


@settings(max_examples=300, deadline=None)
@given(mixed_texts())
def test_r27_redaction_never_leaves_a_detectable_contact(text: str) -> None:
    """R27 property: what redaction leaves behind holds no contact detail."""
    assert scan(redact(text)) == ()


def _edge_word(text: str, *, first: bool) -> str:
    """The first (or last) word of ``text``, lower case."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return (words[0] if first else words[-1]) if words else ""


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_innocent, min_size=1, max_size=4),
    st.sampled_from([". ", "\n", "; "]),
    _contact,
    st.booleans(),
)
def test_r27_a_contact_between_innocent_sentences_is_found(
    sentences: list[str], joiner: str, contact: str, at_end: bool
) -> None:
    """R27 property: a generated email or phone among innocent sentences is found and only it.

    One combination is left out because no reader can tell where the number ends: a phone
    spelled out in words next to a sentence that starts (or ends) with digit words, joined
    by a semicolon ("... zero three; One, two, three, four: all arrived"). Spelled-out
    groups joined by commas and semicolons are one number ("five five five; one two three;
    four five six seven" is a phone, see CONTACTS), so the finding there runs on into the
    neighbour's digit words; it still covers the whole contact, which is what redaction
    needs."""
    position = len(sentences) if at_end else 0
    neighbour = sentences[position] if position == 0 else sentences[position - 1]
    assume(
        not (
            joiner == "; "
            and _edge_word(contact, first=at_end) in _DIGIT_NAMES
            and _edge_word(neighbour, first=not at_end) in _DIGIT_NAMES
        )
    )
    parts = [*sentences[:position], contact, *sentences[position:]]
    text = joiner.join(parts)
    start = sum(len(p) + len(joiner) for p in parts[:position])
    findings = scan(text)
    assert [(f.start, f.end) for f in findings] == [(start, start + len(contact))]


@settings(max_examples=200, deadline=None)
@given(st.lists(_innocent, min_size=1, max_size=5), st.sampled_from([". ", "\n", "; "]))
def test_r27_innocent_sentences_together_stay_innocent(sentences: list[str], joiner: str) -> None:
    """R27 property: look-alike sentences one after the other are still not contacts."""
    assert scan(joiner.join(sentences)) == ()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_innocent, st.text(max_size=20)), max_size=5).map(" ".join))
def test_r27_redaction_never_touches_text_without_a_contact(text: str) -> None:
    """R27 property: a text with no finding comes out of redaction unchanged."""
    if scan(text) == ():
        assert redact(text) == text
    else:
        assert REDACTION_MARK in redact(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), mixed_texts()))
def test_r27_redaction_is_idempotent(text: str) -> None:
    """R27 property: redacting a redacted text changes nothing."""
    once = redact(text)
    assert redact(once) == once


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), mixed_texts()))
def test_r27_spans_map_to_the_original_text(text: str) -> None:
    """R27 property: every finding's span names its own text, in order, without overlap."""
    findings = scan(text)
    for finding in findings:
        assert text[finding.start : finding.end] == finding.text
    for before, after in itertools.pairwise(findings):
        assert before.end <= after.start
