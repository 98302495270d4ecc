"""How long an SMS is, computed locally: GSM 03.38 septets or UCS-2 units, parts and room left.

Why local: the answer is pure arithmetic over a fixed alphabet (3GPP TS 23.038), so a flow can
check a text before sending without spending an upstream call. The tables below are the
standard's default alphabet and its extension table (each extension character travels as
ESC + character, so it costs 2 septets); they were checked character by character against the
``gsm0338`` codec on PyPI, which we do not depend on because it only encodes (no counting or
splitting) and builds its output byte by byte.

Limits: one part carries 160 septets or 70 UCS-2 units; a concatenated part loses its header
room and carries 153 or 67. A part never ends in the middle of an extension character's two
septets or of a surrogate pair (a character outside the BMP is 2 UCS-2 units), as handsets
could not reassemble it, so the last unit of a part can stay empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from marshmallow import ValidationError, validate, validates_schema

from connector import fields as f
from connector.declarations import Action, InputSchema, OutputSchema

# 3GPP TS 23.038 default alphabet, in code order 0x00-0x7F; 0x1B (ESC) introduces the extension table.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ"
    "ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM0338 = "gsm0338"
UNICODE = "unicode"
ENCODINGS = (UNICODE, GSM0338)
# (single-part limit, per-part limit when concatenated)
LIMITS = {GSM0338: (160, 153), UNICODE: (70, 67)}
MAX_TEXT = 1600  # the longest textBody SendSMS accepts


def _class_member(c: str) -> str:
    """One character inside a regex character class, written the same for Python and ECMA-262."""
    if c in "\\]^-[":
        return "\\" + c
    return f"\\x{ord(c):02x}" if ord(c) < 0x20 else c


# Matches (search, unanchored as JSON Schema's pattern is) a text holding a character outside GSM 03.38.
NON_GSM_PATTERN = "[^" + "".join(_class_member(c) for c in sorted(GSM_BASIC | GSM_EXTENSION)) + "]"


def non_gsm(text: str) -> list[str]:
    """The distinct characters of ``text`` outside GSM 03.38, in order of first appearance."""
    return list(dict.fromkeys(c for c in text if c not in GSM_BASIC and c not in GSM_EXTENSION))


def _units(text: str, encoding: str) -> list[int]:
    """What each character costs: septets (GSM) or UTF-16 code units (UCS-2)."""
    if encoding == GSM0338:
        return [2 if c in GSM_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


@dataclass(frozen=True)
class SmsLength:
    encoding: str
    characters: int  # as a person counts them (code points)
    length: int  # as the network counts them (septets or UCS-2 units)
    parts: int
    per_part: int
    remaining: int  # units that still fit in the last part

    def as_output(self, non_gsm_characters: list[str]) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "gsm0338": self.encoding == GSM0338,
            "characters": self.characters,
            "charCount": self.length,
            "parts": self.parts,
            "charPerMessage": self.per_part,
            "remaining": self.remaining,
            "nonGsmCharacters": non_gsm_characters,
        }


def measure(text: str, encoding: str | None = None) -> SmsLength:
    """Length, parts and room left of ``text``; the encoding is detected when not given.

    Raises ``ValueError`` when ``gsm0338`` is forced on a text with characters outside it."""
    outside = non_gsm(text)
    if encoding is None:
        encoding = UNICODE if outside else GSM0338
    elif encoding == GSM0338 and outside:
        raise ValueError(outside)
    single, multi = LIMITS[encoding]
    units = _units(text, encoding)
    length = sum(units)
    if length <= single:
        return SmsLength(encoding, len(text), length, 1 if text else 0, single, single - length)
    parts, used = 1, 0
    for cost in units:
        if used + cost > multi:  # never split one character over two parts
            parts, used = parts + 1, 0
        used += cost
    return SmsLength(encoding, len(text), length, parts, multi, multi - used)


def describe(characters: list[str]) -> str:
    """``'ç' (U+00E7), '😀' (U+1F600)``: visible and unambiguous, even for invisible characters."""
    return ", ".join(f"{c!r} (U+{ord(c):04X})" for c in characters)


class CalculateSmsLengthInput(InputSchema):
    """A text to measure, and optionally the encoding it will be sent with."""

    message = f.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_TEXT, error=f"Write from 1 to {MAX_TEXT} characters."),
        summary="Message",
        description="The text of the SMS to measure.",
        visibility="important",
        example="Olá Ana, a sua encomenda já foi enviada.",
    )
    encoding = f.Choice(
        ENCODINGS,
        summary="Encoding",
        description=(
            "gsm0338 or unicode; detected from the text when not set (gsm0338 when every character is in "
            "the GSM 03.38 alphabet). gsm0338 on a text with other characters is an error."
        ),
        visibility="advanced",
    )

    # The rule below as JSON Schema (OpenAPI 3), for the spec builder to publish beside the fields
    # (see the lead's hook): not (encoding is gsm0338 and message holds a non-GSM character).
    openapi_rules: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "not": {
                "required": ["encoding", "message"],
                "properties": {
                    "encoding": {"enum": [GSM0338]},
                    "message": {"type": "string", "pattern": NON_GSM_PATTERN},
                },
            }
        },
    )

    @validates_schema
    def _gsm_text(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("encoding") == GSM0338 and (outside := non_gsm(data.get("message", ""))):
            raise ValidationError(
                "Not in the GSM 03.38 alphabet: " + describe(outside) + ". Remove them or use the unicode encoding.",
                field_name="message",
            )


class CalculateSmsLengthOutput(OutputSchema):
    """The length of the text, the parts it needs and the room left in the last one."""

    encoding = f.String(
        required=True, summary="Encoding", description="The encoding counted: gsm0338 or unicode.", example="unicode"
    )
    gsm0338 = f.Boolean(
        required=True, summary="GSM 03.38", description="Whether the text is counted as GSM 03.38.", example=False
    )
    characters = f.Integer(
        required=True, summary="Characters", description="Characters in the text, as a person counts them.", example=40
    )
    charCount = f.Integer(
        required=True,
        summary="Length",
        description=(
            "Length as the network counts it: GSM septets (extension characters such as the euro sign count 2) "
            "or UCS-2 units (characters outside the Basic Multilingual Plane, such as emoji, count 2)."
        ),
        example=40,
    )
    parts = f.Integer(required=True, summary="Parts", description="SMS parts the text needs.", example=1)
    charPerMessage = f.Integer(
        required=True,
        summary="Characters Per Part",
        description="Length one part carries: 160 or 70 for a single part, 153 or 67 per part when concatenated.",
        example=70,
    )
    remaining = f.Integer(
        required=True,
        summary="Remaining",
        description="Length that still fits in the last part before another part is needed.",
        example=30,
    )
    nonGsmCharacters = f.List(
        f.String(),
        required=True,
        summary="Non-GSM Characters",
        description="The characters of the text outside the GSM 03.38 alphabet (they make it unicode).",
        example=["á"],
    )


class CalculateSmsLength(Action):
    key = "calculate_sms_length"
    operation_id = "CalculateSmsLength"
    summary = "Calculate the length of an SMS"
    description = (
        "Counts the characters of an SMS text in GSM 03.38 or unicode and returns how many parts it needs "
        "and how much room is left, without calling E-goi."
    )
    visibility = "advanced"
    upstream = "transactional"
    Input = CalculateSmsLengthInput
    Output = CalculateSmsLengthOutput
    example = {"message": "Olá Ana, a sua encomenda já foi enviada."}
    response_example = {
        "encoding": "unicode",
        "gsm0338": False,
        "characters": 40,
        "charCount": 40,
        "parts": 1,
        "charPerMessage": 70,
        "remaining": 30,
        "nonGsmCharacters": ["á"],
    }

    def perform(self, data: dict[str, Any], upstream: Any) -> Any:
        text = data["message"]
        return measure(text, data.get("encoding")).as_output(non_gsm(text))


OPERATIONS = (CalculateSmsLength,)
