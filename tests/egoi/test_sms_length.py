"""CalculateSmsLength: GSM 03.38 / UCS-2 counting, part splitting, and that it never calls E-goi."""

from __future__ import annotations

import pytest
import responses

from actions.egoi.sms_length import GSM_BASIC, GSM_EXTENSION, measure, non_gsm
from tests.conftest import KEY

URL = "/egoi/actions/calculate_sms_length"


def test_alphabet_sizes_and_well_known_members():
    assert len(GSM_BASIC) == 127 and len(GSM_EXTENSION) == 10  # 128 codes less ESC; 10 extension characters
    assert {"@", "£", "é", "Ç", "Δ", "ß", "¿", "à", "\n", "\r"} <= GSM_BASIC
    assert set("€[]{}|\\^~\f") == GSM_EXTENSION
    assert not GSM_BASIC & GSM_EXTENSION
    # not in GSM 03.38: backtick, lowercase c cedilla, acute a, emoji, ESC itself
    assert non_gsm("`çá😀\x1b") == ["`", "ç", "á", "😀", "\x1b"]


@pytest.mark.parametrize(
    "text,encoding,length,parts,per_part,remaining",
    [
        ("a", "gsm0338", 1, 1, 160, 159),
        ("a" * 160, "gsm0338", 160, 1, 160, 0),
        ("a" * 161, "gsm0338", 161, 2, 153, 145),
        ("a" * 306, "gsm0338", 306, 2, 153, 0),
        ("a" * 307, "gsm0338", 307, 3, 153, 152),
        ("€" * 80, "gsm0338", 160, 1, 160, 0),  # extension characters cost 2 septets
        ("€" * 81, "gsm0338", 162, 2, 153, 143),  # 76 + 5 euros: no euro split over two parts
        ("a" * 152 + "€" + "a" * 152, "gsm0338", 306, 3, 153, 152),  # naive ceil(306/153) would say 2
        ("ç", "unicode", 1, 1, 70, 69),
        ("ç" * 70, "unicode", 70, 1, 70, 0),
        ("ç" * 71, "unicode", 71, 2, 67, 63),
        ("😀" * 35, "unicode", 70, 1, 70, 0),  # outside the BMP: 2 UCS-2 units each
        ("😀" * 36, "unicode", 72, 2, 67, 61),  # 33 + 3 emoji: no surrogate pair split
        ("Olá", "unicode", 3, 1, 70, 67),
    ],
)
def test_measure_detects_the_encoding_and_counts(text, encoding, length, parts, per_part, remaining):
    result = measure(text)
    assert (result.encoding, result.length, result.parts, result.per_part, result.remaining) == (
        encoding,
        length,
        parts,
        per_part,
        remaining,
    )
    assert result.characters == len(text)


def test_forced_unicode_counts_gsm_text_as_unicode_and_forced_gsm_on_other_text_fails():
    assert measure("a" * 71, "unicode").parts == 2
    with pytest.raises(ValueError):
        measure("café ç", "gsm0338")


def test_empty_text_needs_no_part():
    assert measure("").parts == 0


@responses.activate  # no URL registered: any upstream call would fail the test
def test_the_action_answers_locally(mocked):
    r = mocked.post(URL, json={"message": "Preço: 10€ 😀"}, headers=KEY)
    assert r.status_code == 200, r.json
    assert r.json == {
        "encoding": "unicode",
        "gsm0338": False,
        "characters": 12,
        "charCount": 13,
        "parts": 1,
        "charPerMessage": 70,
        "remaining": 57,
        "nonGsmCharacters": ["ç", "😀"],
    }
    gsm = mocked.post(URL, json={"message": "Total: 10€", "encoding": "gsm0338"}, headers=KEY).json
    assert (gsm["encoding"], gsm["gsm0338"], gsm["characters"], gsm["charCount"]) == ("gsm0338", True, 10, 11)
    assert gsm["nonGsmCharacters"] == []
    assert len(responses.calls) == 0


def test_the_declared_example_answers_the_declared_response(client):
    from actions.egoi.sms_length import CalculateSmsLength

    r = client.post(URL, json=CalculateSmsLength.example, headers=KEY)
    assert r.status_code == 200 and r.json == CalculateSmsLength.response_example


@pytest.mark.parametrize(
    "body,field,words",
    [
        ({}, "message", "required"),
        ({"message": ""}, "message", "1 to 1600"),
        ({"message": "a" * 1601}, "message", "1 to 1600"),
        ({"message": 5}, "message", "string"),
        ({"message": "a", "encoding": "utf8"}, "encoding", "gsm0338"),
        ({"message": "Olá ç 😀", "encoding": "gsm0338"}, "message", "'ç' (U+00E7), '😀' (U+1F600)"),
        ({"message": "x`", "encoding": "gsm0338"}, "message", "'`' (U+0060)"),
        ({"message": "a", "extra": 1}, "extra", "Unknown"),
    ],
)
@responses.activate
def test_bad_input_is_422_naming_the_field(mocked, body, field, words):
    r = mocked.post(URL, json=body, headers=KEY)
    assert r.status_code == 422, r.json
    assert r.json["type"].endswith(":validation-error")
    assert words in " ".join(r.json["errors"][field]), r.json["errors"]
    assert len(responses.calls) == 0


def contains(tree, value) -> bool:
    """Whether ``value`` appears anywhere in a JSON tree."""
    if tree == value:
        return True
    children = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, list) else ()
    return any(contains(child, value) for child in children)


@pytest.mark.parametrize("path", ["/egoi/openapi.json", "/egoi/swagger.json"])
def test_both_specs_document_it_with_its_examples(mocked, path):
    from actions.egoi.sms_length import CalculateSmsLength

    spec = mocked.get(path).json
    operation = spec["paths"]["/actions/calculate_sms_length"]["post"]
    assert operation["operationId"] == "CalculateSmsLength"
    assert contains(operation, CalculateSmsLength.response_example)
    if "openapi" in spec:  # Swagger 2.0 has no request body example
        assert contains(operation, CalculateSmsLength.example)


@pytest.mark.parametrize(
    "body,valid",
    [
        ({"message": "Total: 10€ [ok] ^~|\\{}\n\r\f", "encoding": "gsm0338"}, True),
        ({"message": "ç", "encoding": "gsm0338"}, False),
        ({"message": "a\x16", "encoding": "gsm0338"}, False),
        ({"message": "😀", "encoding": "gsm0338"}, False),
        ({"message": "😀", "encoding": "unicode"}, True),
        ({"message": "ç"}, True),
    ],
)
def test_the_published_rule_agrees_with_the_validation(body, valid):
    """The JSON Schema form of the GSM rule (for the specs) accepts exactly what validation accepts."""
    import jsonschema

    from actions.egoi.sms_length import CalculateSmsLengthInput

    (rule,) = CalculateSmsLengthInput.openapi_rules
    assert jsonschema.Draft4Validator(rule).is_valid(body) is valid
    assert (CalculateSmsLengthInput().validate(body) == {}) is valid
