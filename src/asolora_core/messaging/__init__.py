"""Buyer-vendor conversations kept inside the platform (R26-R28).

The package owns conversations between a buyer and a vendor, the messages in them, the
contact policy that keeps email addresses, phone numbers and outside channels out of those
messages (R27, :mod:`asolora_core.messaging.contact_policy`), and the unread counts and
vendor response times (R28).
"""

from __future__ import annotations

from asolora_core.messaging.contact_policy import ContactPolicy, Screening, screen
from asolora_core.messaging.conversations import (
    Conversation,
    ConversationRead,
    ConversationStarted,
    Message,
    MessageFlagged,
    MessagePosted,
)
from asolora_core.messaging.service import (
    ConversationPage,
    ConversationResponse,
    PostedMessage,
    ResponseTimes,
    StartedConversation,
)

__all__ = [
    "ContactPolicy",
    "Conversation",
    "ConversationPage",
    "ConversationRead",
    "ConversationResponse",
    "ConversationStarted",
    "Message",
    "MessageFlagged",
    "MessagePosted",
    "PostedMessage",
    "ResponseTimes",
    "Screening",
    "StartedConversation",
    "screen",
]
