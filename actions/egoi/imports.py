"""Bulk contact imports on E-goi's Marketing API v3 (https://developers.e-goi.com/api/v3/):
``POST /lists/{list_id}/contacts/actions/import-bulk`` takes 2 or more contacts and imports them
asynchronously (202); E-goi keeps the import in its operations queue (``GET /operations``) until it
is done, which is what the status action reads. ``connector import`` feeds a spreadsheet through
ImportContacts (declared with :class:`~connector.bulk.ImportsRows`), and CreateContact for a lone row."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from actions.egoi.fields import list_id
from actions.egoi.schemas import NewContactFields, contact_body
from connector import fields as f
from connector.bulk import ImportsRows
from connector.declarations import Action, EmptySchema, InputSchema, OutputSchema
from connector.errors import Problem
from connector.upstream import UpstreamCall

MIN_IMPORT = 2  # E-goi: "Minimum of 2 contacts to use this method"; one contact is CreateContact
# E-goi bounds a request by size (20 MB, https://developers.e-goi.com/api/v3/), not by count: 10,000
# contacts of ordinary size fit well within it, and a larger file is split into several imports.
MAX_IMPORT = 10_000
MODES = ("add", "update", "update_only")
COMPARE_FIELDS = ("email", "cellphone")  # the base fields E-goi keeps unique in a list
MAX_NOTIFY = 20
EXTRA_COLUMN = re.compile(r"^extra[_.](\d+)$")


class ImportRow(NewContactFields):
    """One contact of an import: the fields CreateContact takes, but the list."""


def missing_compare_field(contact: dict[str, Any], compare_field: str) -> dict[str, list[str]]:
    """A contact without the field the import matches on cannot be matched (nor imported)."""
    if contact.get(compare_field) not in (None, ""):
        return {}
    return {compare_field: [f"Missing data: the import matches contacts on {compare_field} (compare_field)."]}


class ImportContactsInput(InputSchema):
    """The contacts to import into one list, and how to treat those already in it."""

    list_id = list_id()
    mode = f.Choice(
        MODES,
        load_default="add",
        summary="Mode",
        description=(
            "add imports new contacts only and leaves existing ones as they are; update also replaces the fields "
            "of existing ones; update_only only replaces existing ones."
        ),
        visibility="advanced",
        example="add",
    )
    compare_field = f.Choice(
        COMPARE_FIELDS,
        load_default="email",
        summary="Match On",
        description="The field that says a contact is already in the list: email or cellphone. Every contact needs it.",
        visibility="advanced",
        example="email",
    )
    force_empty = f.Boolean(
        load_default=False,
        summary="Erase With Empty Values",
        description="Passed to E-goi, which then erases a value that a contact carries empty. This service reads an "
        "empty value as not sent (no-code tools send one for every field left unmapped), so no empty value reaches "
        "E-goi and this option erases nothing yet.",
        visibility="advanced",
        example=False,
    )
    notify = f.List(
        f.Id(),
        validate=validate.Length(max=MAX_NOTIFY, error=f"Notify at most {MAX_NOTIFY} users."),
        summary="Notify Users",
        description="Ids of the E-goi users to notify when the import ends.",
        visibility="advanced",
        example=[1],
    )
    contacts = f.List(
        f.Nested(ImportRow),
        required=True,
        validate=validate.Length(
            min=MIN_IMPORT,
            max=MAX_IMPORT,
            error=f"Import from {MIN_IMPORT} to {MAX_IMPORT} contacts at once; one contact is Create a contact.",
        ),
        summary="Contacts",
        description=f"The contacts, {MIN_IMPORT} to {MAX_IMPORT}; each has the fields of Create a contact but the list.",
        visibility="important",
    )

    @validates_schema
    def _compare_field_given(self, data: dict[str, Any], **kwargs: Any) -> None:
        compare = data.get("compare_field", "email")
        errors = {
            index: problems
            for index, contact in enumerate(data.get("contacts", ()))
            if (problems := missing_compare_field(contact, compare))
        }
        if errors:
            raise ValidationError({"contacts": errors})


class ImportAcceptedOutput(OutputSchema):
    """E-goi took the import; it runs in the background."""

    result = f.String(
        required=True, summary="Result", description="accepted: E-goi imports the contacts.", example="accepted"
    )
    contacts = f.Integer(required=True, summary="Contacts", description="Number of contacts sent.", example=2)


class ImportContacts(ImportsRows, Action):
    key = "import_contacts"
    operation_id = "ImportContacts"
    summary = "Import contacts into a list"
    description = (
        "Sends 2 to 10000 contacts to E-goi in one bulk import into a list; each contact needs the field it is "
        "matched on (email, or cellphone with compare_field). E-goi imports them in the background, and Get import "
        "status says when it is done."
    )
    visibility = "advanced"
    Input = ImportContactsInput
    Output = ImportAcceptedOutput
    status_code = 202
    example = {
        "list_id": 1,
        "contacts": [
            {"email": "joana@example.com", "first_name": "Joana"},
            {"email": "tiago@example.com", "first_name": "Tiago", "cellphone": "351-912000001"},
        ],
    }
    response_example = {"result": "accepted", "contacts": 2}

    rows_field = "contacts"
    list_field = "list_id"
    min_rows = MIN_IMPORT
    max_rows = MAX_IMPORT
    single_action = "create_contact"
    status_action = "get_import_status"

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        body: dict[str, Any] = {
            "mode": data["mode"],
            "compare_field": data["compare_field"],
            "force_empty": data["force_empty"],
            "contacts": [contact_body(contact) for contact in data["contacts"]],
        }
        if data.get("notify"):
            body["notify"] = data["notify"]
        upstream.post(f"/lists/{data['list_id']}/contacts/actions/import-bulk", json=body)
        return {"result": "accepted", "contacts": len(body["contacts"])}

    # connector import: columns extra_<field id> (or extra.<id>) fill the list's extra fields
    def extra_column(self, column: str) -> bool:
        return EXTRA_COLUMN.fullmatch(column) is not None

    def row_from_columns(self, values: dict[str, Any], extra: dict[str, str]) -> dict[str, Any]:
        if not extra:
            return values
        items = [{"field_id": int(EXTRA_COLUMN.fullmatch(c)[1]), "value": v} for c, v in extra.items()]  # type: ignore[index]
        return {**values, "extra": items}

    def row_problems(self, row: dict[str, Any], common: dict[str, Any]) -> dict[str, list[str]]:
        return missing_compare_field(row, common.get("compare_field", "email"))

    def single_input(self, row: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
        """CreateContact with upsert unless the mode is add, as a bulk import would treat the row."""
        return {**row, "list_id": common["list_id"], "upsert": common.get("mode", "add") != "add"}


class ImportOperation(OutputSchema):
    operation_id = f.Integer(required=True, summary="Operation Id", description="E-goi's id of the import.")
    status = f.String(summary="Status", description="queued, processing, executing or paused.")
    created = f.String(summary="Created", description="When the import was sent (yyyy-MM-dd HH:mm:ss).")
    start_date = f.String(summary="Started", description="When E-goi started it (yyyy-MM-dd HH:mm:ss).")


class ImportStatusOutput(OutputSchema):
    """Whether the account's imports are done, and those still running."""

    finished = f.Boolean(
        required=True,
        summary="Finished",
        description="true when E-goi has no contact import left to run in the account.",
        example=True,
    )
    pending = f.Integer(required=True, summary="Pending", description="Imports still queued or running.", example=0)
    imports = f.List(
        f.Nested(ImportOperation), required=True, summary="Imports", description="The imports still queued or running."
    )


class GetImportStatus(Action):
    key = "get_import_status"
    operation_id = "GetImportStatus"
    summary = "Get import status"
    description = (
        "Says whether the contact imports sent to E-goi have finished: the imports still queued or running in the "
        "account, none when all are done."
    )
    visibility = "advanced"
    Input = EmptySchema
    Output = ImportStatusOutput
    example: dict[str, Any] = {}
    response_example = {"finished": True, "pending": 0, "imports": []}

    def perform(self, data: dict[str, Any], upstream: UpstreamCall) -> Any:
        """One call: E-goi's operations queue, import_contacts only (imports leave it when done)."""
        answer = upstream.get("/operations", params={"type": "import_contacts", "limit": 1000})
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise Problem(502, "E-goi answered the operations queue with an unexpected body.")
        imports = [
            {k: item[k] for k in ("operation_id", "status", "created", "start_date") if k in item}
            for item in items
            if isinstance(item, dict) and item.get("type", "import_contacts") == "import_contacts"
        ]
        return {"finished": not imports, "pending": len(imports), "imports": imports}


OPERATIONS = (ImportContacts, GetImportStatus)
