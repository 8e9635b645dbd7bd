"""SMS segments by GSM 03.38: SMS are billed per segment, so ``segments`` counts them the way the standard and
the carriers do.

A text written only in the GSM-7 alphabet (the basic set, plus the extension characters that take an escape
each) costs 160 septets a message; one other character makes the whole text UCS-2, 70 UTF-16 units a message.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")  # escape + char: two septets each

_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_CONCAT = {"GSM-7": 153, "UCS-2": 67}  # a 6-byte UDH leaves this much per part

# Look-alikes that sneak into texts pasted from word processors.
GSM_HINTS = {"’": "'", "‘": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "}


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def segments(text: str) -> SegmentInfo:
    """How many SMS segments ``text`` costs.

    A single message holds 160 septets or 70 UTF-16 units; a concatenated one
    153 or 67 per part. A part never splits an escape sequence (``€`` is ESC +
    one septet) or a surrogate pair (an emoji), so packing is done greedily
    rather than by dividing. Even an empty body is sent as one segment.
    """
    if is_gsm(text):
        encoding, widths = "GSM-7", [2 if c in GSM_EXTENSION else 1 for c in text]
    else:
        encoding, widths = "UCS-2", [2 if ord(c) > 0xFFFF else 1 for c in text]
    units = sum(widths)
    if units <= _SINGLE[encoding]:
        return SegmentInfo(encoding, units, 1)
    limit, count, used = _CONCAT[encoding], 1, 0
    for width in widths:
        if used + width > limit:
            count, used = count + 1, 0
        used += width
    return SegmentInfo(encoding, units, count)
