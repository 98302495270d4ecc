"""Verification tokens (Transactional API v2 "Verify"): request a code, validate, resend or cancel it.

E-goi's answers say little: validate, cancel and resend answer 200 with the request's id or 400
with a sentence. When one of them is refused, the action reads the request (one more call, only on
that path) and answers from its state, which E-goi documents, rather than from the sentence:

- a wrong code is an answer, not an error: 200 ``{"valid": false, "status": "invalid"}`` (the
  request stays pending and takes another code) or ``"invalidated"`` (too many wrong codes: final),
  so a flow branches on ``valid`` with a Condition;
- an expired request is 410, problem type ``verify-expired``;
- a cancelled request is 409, problem type ``verify-cancelled``;
- a request already validated is 409, problem type ``verify-already-validated`` (a code is good once).
"""

from __future__ import annotations

from typing import Any

from marshmallow import validate

from actions.egoi.fields import HASH_MAX, Phone
from actions.egoi.messages import GROUP_MAX, MERGE_TAG_MAX, SENDER_ID_MAX
from actions.egoi.sms import SENDERS_DROPDOWN
from connector import fields as f
from connector.declarations import Action, InputSchema, OutputSchema
from connector.errors import Problem
from connector.upstream import UpstreamCall, UpstreamError

CODE_TYPES = ("numeric", "alpha", "alphanumeric", "hex")
MAX_CODE_LENGTH = 20
MAX_VALIDITY = 3600
REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
REQUEST_ID_MESSAGE = "Not a valid request id: expected 1 to 64 letters, digits, - or _ (for example 1001)."
CODE_PATTERN = r"^[A-Za-z0-9]{1,20}$"
CODE_MESSAGE = "Not a valid code: expected 1 to 20 letters or digits, without spaces (for example 123456)."
REQUEST_ID_MAX = 64
CODE_MAX = 20
# Lengths, ours (E-goi's documentation of the verify API gives none):
VERIFY_MESSAGE_MAX = 5000  # the text around the code: enough for an email, SMS limits are E-goi's
SUBJECT_MAX = 998  # the longest line RFC 5322 allows in a message header
DEVICE_TOKEN_MAX = 4096  # push tokens are 64 (APNs) to a few hundred (FCM) characters
TITLE_MAX = 255
# Paths of the token requests. SMS is in E-goi's spec; its docs (https://developers.e-goi.com/api/transactional/)
# show email and push without paths.
REQUEST_PATHS = {"sms": "/verify/request", "email": "/verify/request/email", "push": "/verify/request/push"}
CODE_TAG = "{{ code }}"


def request_id_field(**kwargs: Any) -> f.String:
    return f.String(
        required=True,
        validate=f.FullMatch(REQUEST_ID_PATTERN, error=REQUEST_ID_MESSAGE),
        max_length=REQUEST_ID_MAX,
        too_long=REQUEST_ID_MESSAGE,
        summary="Request Id",
        description="The id of the verification request, as returned when the code was requested.",
        visibility="important",
        example="1001",
        **kwargs,
    )


class CodeSettings(InputSchema):
    """The message and the code's shape and lifetime, common to every channel."""

    message = f.String(
        validate=validate.Length(min=1, error="Write the message, or leave it out for E-goi's default."),
        max_length=VERIFY_MESSAGE_MAX,
        summary="Message",
        description=(
            f"The text the recipient receives; every {CODE_TAG} is replaced by the code. "
            "Without the tag the code is added at the end."
        ),
        visibility="important",
        example=f"Your code is {CODE_TAG}",
    )
    codeLength = f.BoundedInteger(
        minimum=1,
        maximum=MAX_CODE_LENGTH,
        summary="Code Length",
        description=f"Characters in the code, 1 to {MAX_CODE_LENGTH}; E-goi uses 6 when not set.",
        visibility="advanced",
        example=6,
    )
    codeValidity = f.BoundedInteger(
        minimum=1,
        maximum=MAX_VALIDITY,
        summary="Code Validity",
        description=f"Seconds the code stays valid after it is sent, 1 to {MAX_VALIDITY}; E-goi uses 600 when not set.",
        visibility="advanced",
        example=600,
    )
    codeType = f.Choice(
        CODE_TYPES,
        summary="Code Type",
        description="Characters of the code: numeric (0-9), alpha (A-Z), alphanumeric (0-9A-Z) or hex (0-9A-F).",
        visibility="advanced",
        example="numeric",
    )


class RequestTokenSmsInput(CodeSettings):
    """A code sent by SMS to one cellphone."""

    senderId = f.String(
        required=True,
        validate=validate.Length(min=1, error="Choose a sender."),
        max_length=SENDER_ID_MAX,
        summary="Send From",
        description="The id of the SMS sender.",
        visibility="important",
        example="1",
        dropdown=SENDERS_DROPDOWN,
    )
    to = Phone(
        required=True,
        summary="Send To",
        description="Cellphone of the recipient, as ccc-xxxxxxxxx where ccc is the country code.",
        visibility="important",
    )


class RequestTokenEmailInput(CodeSettings):
    """A code sent by email to one address."""

    email = f.Email(
        required=True,
        summary="Send To",
        description="Email address the code is sent to.",
        visibility="important",
        example="ana@example.com",
    )
    subject = f.String(
        required=True,
        validate=validate.Length(min=1, error="Write a subject."),
        max_length=SUBJECT_MAX,
        summary="Subject",
        description="Subject of the email.",
        visibility="important",
        example="Your verification code",
    )
    senderId = f.String(
        max_length=SENDER_ID_MAX,
        summary="Sender Id",
        description="The id of the email sender; E-goi's default sender when neither sender field is set.",
        visibility="advanced",
    )
    senderHash = f.String(
        max_length=HASH_MAX,
        summary="Sender Hash",
        description="The hash of the email sender, instead of its id.",
        visibility="advanced",
    )
    group = f.String(
        max_length=GROUP_MAX,
        summary="Group",
        description="Group of the message, for reports (for example Login).",
        visibility="advanced",
        example="Login",
    )
    mergeTags = f.List(
        f.String(max_length=MERGE_TAG_MAX, validate=validate.Length(min=1, error="A merge tag cannot be empty.")),
        summary="Merge Tags",
        description="Merge tags of the message.",
        visibility="advanced",
    )


class RequestTokenPushInput(CodeSettings):
    """A code sent as a push notification to one app's device."""

    appId = f.Id(
        required=True,
        summary="App Id",
        description="The id of the push application in E-goi.",
        visibility="important",
        example=1,
    )
    device = f.String(
        max_length=DEVICE_TOKEN_MAX,
        summary="Device Token",
        description="The push token of the recipient's device.",
        visibility="important",
        example="device-token",
    )
    title = f.String(
        max_length=TITLE_MAX,
        summary="Title",
        description="Title of the push notification.",
        visibility="advanced",
        example="Verification",
    )


class RequestIdInput(InputSchema):
    """One verification request."""

    requestId = request_id_field()


class ValidateTokenInput(RequestIdInput):
    """The code the recipient typed, for one verification request."""

    code = f.String(
        required=True,
        validate=f.FullMatch(CODE_PATTERN, error=CODE_MESSAGE),
        max_length=CODE_MAX,
        too_long=CODE_MESSAGE,
        summary="Code",
        description="The code the recipient received and typed in.",
        visibility="important",
        example="123456",
    )


class RequestIdOutput(OutputSchema):
    """The id of the verification request."""

    requestId = f.String(
        required=True, summary="Request Id", description="The id of the verification request.", example="1001"
    )


class RequestStatusOutput(RequestIdOutput):
    """The verification request and its status after the action."""

    status = f.String(
        required=True,
        summary="Status",
        description="Status of the request: pending, validated, invalidated, canceled or expired.",
        example="pending",
    )


class ValidateTokenOutput(RequestIdOutput):
    """Whether the code was right; a wrong code is an answer, not an error."""

    valid = f.Boolean(required=True, summary="Valid", description="True when the code was right.", example=True)
    status = f.String(
        required=True,
        summary="Result",
        description=(
            "validated (right code), invalid (wrong code; the request takes another) or invalidated "
            "(wrong code; too many, the request is closed)."
        ),
        example="validated",
    )


class VerifyRequestOutput(RequestIdOutput):
    """A verification request as E-goi keeps it (the code itself is never returned)."""

    messageId = f.String(summary="Message Id", description="The id of the message that carried the code.")
    senderId = f.String(summary="Sender Id", description="The id of the sender.")
    recipientNumber = f.String(summary="Recipient", description="Cellphone the code was sent to (SMS requests).")
    codeTTL = f.Integer(summary="Code Validity", description="Seconds the code is valid after it is sent.")
    status = f.String(
        required=True,
        summary="Status",
        description="pending, validated, invalidated, canceled or expired.",
        example="pending",
    )
    createDate = f.String(summary="Created", description="When the request was made (UTC, ISO 8601).")
    message = f.String(summary="Message", description="The message sent, with the code tag in place of the code.")


def _request_id(answer: Any) -> str:
    """E-goi names it requestId (current docs) or verifyId (2020 spec); validate and friends wrap it in a list."""
    item = answer[0] if isinstance(answer, list) and answer else answer
    if isinstance(item, dict):
        for name in ("requestId", "verifyId", "id"):
            if isinstance(item.get(name), str | int) and not isinstance(item.get(name), bool) and item[name] != "":
                return str(item[name])
    raise Problem(502, "E-goi Transactional API accepted the request but returned no request id.")


def _status_of(upstream: UpstreamCall, request_id: str, refused: UpstreamError) -> str:
    """The request's state, read after E-goi refused an action on it (the refusal when unreadable)."""
    try:
        found = upstream.get(f"/verify/{request_id}")
    except Problem:
        raise refused from None
    status = found.get("status") if isinstance(found, dict) else None
    if not isinstance(status, str):
        raise refused
    return status.lower()


def _closed(request_id: str, status: str) -> Problem | None:
    """The answer for a request that can no longer take a code, by its state."""
    if status == "expired":
        return Problem(
            410,
            f"The verification request {request_id} expired: its code is no longer valid. Request a new code.",
            title="Verification request expired",
            kind="verify-expired",
            requestId=request_id,
        )
    if status in ("canceled", "cancelled"):
        return Problem(
            409,
            f"The verification request {request_id} was cancelled: no code can be validated for it.",
            title="Verification request cancelled",
            kind="verify-cancelled",
            requestId=request_id,
        )
    if status == "validated":
        return Problem(
            409,
            f"The verification request {request_id} was already validated: a code is accepted only once.",
            title="Verification request already validated",
            kind="verify-already-validated",
            requestId=request_id,
        )
    if status == "invalidated":
        return Problem(
            409,
            f"The verification request {request_id} was closed after too many wrong codes. Request a new code.",
            title="Verification request invalidated",
            kind="verify-invalidated",
            requestId=request_id,
        )
    return None


def _act(upstream: UpstreamCall, request_id: str, action: str) -> Any:
    """POST one of validate/cancel/resend without a body (a missing request: the hook's 404)."""
    return upstream.post(f"/verify/{request_id}/{action}")


class _RequestToken(Action):
    """Shared perform of the three channels: the channel's fields go to its path as they are."""

    channel = "sms"
    upstream = "transactional"
    Output = RequestIdOutput
    status_code = 201
    response_example = {"requestId": "bcc3f46527d44408b434ebc24c229a49"}

    def body(self, data: dict[str, Any], upstream: UpstreamCall) -> dict[str, Any]:
        return dict(data)

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        return {"requestId": _request_id(upstream.post(REQUEST_PATHS[self.channel], json=self.body(data, upstream)))}


class RequestTokenSms(_RequestToken):
    key = "request_token_sms"
    operation_id = "RequestTokenSms"
    summary = "Send a verification code by SMS"
    description = "Generates a one-time code and sends it by SMS to a cellphone; returns the request id to validate the code with."
    visibility = "important"
    channel = "sms"
    Input = RequestTokenSmsInput
    example = {"senderId": "1", "to": "351-912345678", "message": f"Your code is {CODE_TAG}", "codeLength": 6}


class RequestTokenEmail(_RequestToken):
    key = "request_token_email"
    operation_id = "RequestTokenEmail"
    summary = "Send a verification code by email"
    description = (
        "Generates a one-time code and sends it by email to an address; returns the request id to validate the code "
        "with."
    )
    visibility = "important"
    channel = "email"
    Input = RequestTokenEmailInput
    example = {"email": "ana@example.com", "subject": "Your verification code", "message": f"Code: {CODE_TAG}"}


class RequestTokenPush(_RequestToken):
    key = "request_token_push"
    operation_id = "RequestTokenPush"
    summary = "Send a verification code by push notification"
    description = (
        "Generates a one-time code and sends it as a push notification to a device of one of your apps; returns the "
        "request id. The connection's API key is sent as the apikey E-goi asks for."
    )
    visibility = "advanced"
    channel = "push"
    Input = RequestTokenPushInput
    example = {"appId": 1, "device": "device-token", "title": "Verification", "message": f"Code: {CODE_TAG}"}

    def body(self, data: dict[str, Any], upstream: UpstreamCall) -> dict[str, Any]:
        # E-goi wants the account's API key in this body too; it comes from the connection, never
        # from a flow field (flow inputs are kept in run history).
        return {"apikey": upstream.credential, **data}


class GetVerifyRequest(Action):
    key = "get_verify_request"
    operation_id = "GetVerifyRequest"
    summary = "Get a verification request"
    description = (
        "Returns a verification request with its status: pending, validated, invalidated, canceled or expired."
    )
    visibility = "advanced"
    upstream = "transactional"
    Input = RequestIdInput
    Output = VerifyRequestOutput
    example = {"requestId": "1001"}
    response_example = {
        "requestId": "1001",
        "messageId": "8f3a2b1c0d9e8f7a",
        "senderId": "1",
        "recipientNumber": "351-912345678",
        "codeTTL": 600,
        "status": "pending",
        "createDate": "2026-03-06T11:57:34Z",
        "message": f"Your code is {CODE_TAG}",
    }

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        request_id = data["requestId"]
        found = upstream.get(f"/verify/{request_id}")
        if not isinstance(found, dict) or not isinstance(found.get("status"), str):
            raise Problem(502, "E-goi Transactional API returned a verification request without a status.")
        answer = {k: v for k, v in found.items() if k not in ("id", "code")}
        answer["status"] = found["status"].lower()
        answer["requestId"] = str(found.get("id") or request_id)
        return answer


class ValidateToken(Action):
    key = "validate_token"
    operation_id = "ValidateToken"
    summary = "Validate a verification code"
    description = (
        "Checks the code a recipient typed: valid is true for the right code and false for a wrong one; an expired "
        "request answers 410 and a cancelled one 409."
    )
    visibility = "important"
    upstream = "transactional"
    Input = ValidateTokenInput
    Output = ValidateTokenOutput
    errors = (409, 410)
    example = {"requestId": "1001", "code": "123456"}
    response_example = {"requestId": "1001", "valid": True, "status": "validated"}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        request_id = data["requestId"]
        try:
            upstream.post(f"/verify/{request_id}/validate", json={"code": data["code"]})
        except UpstreamError as refused:
            if refused.upstream_status != 400:
                raise
            status = _status_of(upstream, request_id, refused)
            if status == "pending":  # the code was wrong; the request takes another
                return {"requestId": request_id, "valid": False, "status": "invalid"}
            if status == "invalidated":  # the code was wrong and no more are taken
                return {"requestId": request_id, "valid": False, "status": "invalidated"}
            raise _closed(request_id, status) or refused from None
        return {"requestId": request_id, "valid": True, "status": "validated"}


class CancelVerifyRequest(Action):
    key = "cancel_verify_request"
    operation_id = "CancelVerifyRequest"
    summary = "Cancel a verification request"
    description = (
        "Cancels a pending verification request so its code can no longer be validated; cancelling a request twice "
        "is not an error."
    )
    visibility = "advanced"
    upstream = "transactional"
    Input = RequestIdInput
    Output = RequestStatusOutput
    errors = (409, 410)
    example = {"requestId": "1002"}
    response_example = {"requestId": "1002", "status": "canceled"}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        request_id = data["requestId"]
        try:
            _act(upstream, request_id, "cancel")
        except UpstreamError as refused:
            if refused.upstream_status != 400:
                raise
            status = _status_of(upstream, request_id, refused)
            if status not in ("canceled", "cancelled"):  # already cancelled: the caller's wish holds
                raise _closed(request_id, status) or refused from None
        return {"requestId": request_id, "status": "canceled"}


class ResendToken(Action):
    key = "resend_token"
    operation_id = "ResendToken"
    summary = "Send a new verification code"
    description = (
        "Sends a new code for a pending verification request; the previous code stops working and the validity "
        "starts again."
    )
    visibility = "advanced"
    upstream = "transactional"
    Input = RequestIdInput
    Output = RequestStatusOutput
    errors = (409, 410)
    example = {"requestId": "1003"}
    response_example = {"requestId": "1003", "status": "pending"}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        request_id = data["requestId"]
        try:
            _act(upstream, request_id, "resend")
        except UpstreamError as refused:
            if refused.upstream_status != 400:
                raise
            raise _closed(request_id, _status_of(upstream, request_id, refused)) or refused from None
        return {"requestId": request_id, "status": "pending"}


OPERATIONS = (
    RequestTokenSms,
    RequestTokenEmail,
    RequestTokenPush,
    GetVerifyRequest,
    ValidateToken,
    CancelVerifyRequest,
    ResendToken,
)
