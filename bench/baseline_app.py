"""The baseline of the throughput target: CreateContact written by hand with Flask + marshmallow + requests.

This is what a competent engineer would write without the framework: one route, a marshmallow
schema with the same fields and validation as ``actions/egoi/schemas.py`` (CreateContactInput),
a module-level ``requests.Session()`` with its default settings, Flask's own JSON (``get_json`` /
``jsonify``). It forwards ``{"base": {...}}`` to ``$BENCH_UPSTREAM/lists/<list_id>/contacts`` with
the caller's ``Apikey`` header and returns the upstream's JSON with 201; validation errors are 422.

    BENCH_UPSTREAM=http://127.0.0.1:8901 .venv/bin/gunicorn --chdir bench -w 2 baseline_app:app
"""

from __future__ import annotations

import datetime as dt
import os
import re

import requests
from flask import Flask, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:8901").rstrip("/")

# \Z and ASCII, as the framework's FullMatch: "$" would accept a trailing newline, \d any Unicode digit.
PHONE = validate.Regexp(
    re.compile(r"^\d{1,3}-\d{4,20}\Z", re.ASCII), error="Not a valid phone number: expected ccc-xxxxxxxxx."
)
LANGUAGES = ("en", "pt", "br", "es", "de", "hu", "fr")
STATUSES = ("active", "inactive", "removed", "unconfirmed")


def real_date(value: str) -> None:
    try:
        dt.datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise ValidationError("Not a valid date: expected yyyy-mm-dd.") from None


class CreateContactSchema(Schema):
    list_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    email = fields.Email()
    cellphone = fields.String(validate=PHONE)
    phone = fields.String(validate=PHONE)
    first_name = fields.String()
    last_name = fields.String()
    birth_date = fields.String(validate=[validate.Regexp(re.compile(r"^\d{4}-\d{2}-\d{2}\Z", re.ASCII)), real_date])
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    status = fields.String(validate=validate.OneOf(STATUSES))

    @validates_schema
    def needs_a_channel(self, data: dict, **kwargs: object) -> None:
        if not any(data.get(name) for name in ("email", "cellphone", "phone")):
            raise ValidationError("Provide at least one of email, cellphone or phone.", field_name="email")


schema = CreateContactSchema()
session = requests.Session()
app = Flask(__name__)


@app.post("/egoi/actions/create_contact")
def create_contact():  # type: ignore[no-untyped-def]
    api_key = request.headers.get("Apikey")
    if not api_key:
        return jsonify(error="Missing Apikey header."), 401
    try:
        data = schema.load(request.get_json(force=True, silent=True) or {})
    except ValidationError as exc:
        return jsonify(errors=exc.messages), 422
    list_id = data.pop("list_id")
    try:
        response = session.post(
            f"{UPSTREAM}/lists/{list_id}/contacts",
            json={"base": data},
            headers={"Apikey": api_key},
            timeout=(5, 60),
        )
    except requests.RequestException:
        return jsonify(error="upstream unreachable"), 502
    if response.status_code >= 400:
        return jsonify(error="upstream failed", status=response.status_code), 502
    return jsonify(response.json()), 201
