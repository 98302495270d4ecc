"""How an action declares that it imports rows, so ``connector import`` can find and feed it
without knowing the vendor."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import Schema

from connector import fields as f


class ImportsRows:
    """Mixed into an :class:`~connector.declarations.Action` whose input carries a list of rows.

    The input is ``{<list_field>: ..., <other common fields>..., <rows_field>: [row, ...]}``; each
    row is validated with the schema of the items of ``rows_field``. Batches smaller than
    ``min_rows`` go one row at a time through ``single_action`` (the key of another action of the
    catalog). ``status_action`` (optional) is the key of an action that answers ``{"finished": bool}``
    for the imports sent, when the vendor imports asynchronously; it is called with the common
    fields its input declares.
    """

    rows_field: ClassVar[str]
    max_rows: ClassVar[int]
    min_rows: ClassVar[int] = 1
    list_field: ClassVar[str | None] = None  # the input field that ``connector import --list`` fills
    single_action: ClassVar[str | None] = None
    status_action: ClassVar[str | None] = None

    input_schema: Schema  # set by Operation.__init__

    @property
    def row_schema(self) -> Schema:
        """The schema of one row: the nested schema of the items of ``rows_field``."""
        rows = self.input_schema.fields.get(self.rows_field)
        if not (isinstance(rows, f.List) and isinstance(rows.inner, f.Nested)):
            raise TypeError(f"{type(self).__name__}.rows_field must name a List of Nested field of its input")
        return rows.inner.schema

    def extra_column(self, column: str) -> bool:
        """Whether a column that names no field of a row is still one this action reads (for
        instance a vendor's custom fields, written ``extra_3``); see :meth:`row_from_columns`."""
        return False

    def row_from_columns(self, values: dict[str, Any], extra: dict[str, str]) -> dict[str, Any]:
        """A row's input from its mapped field values and the non-empty cells of its extra
        columns (those :meth:`extra_column` accepts). By default the values as they are."""
        return values

    def row_problems(self, row: dict[str, Any], common: dict[str, Any]) -> dict[str, list[str]]:
        """Rules of a row that depend on the common fields (e.g. the field imports match on), by
        field; the action's input enforces the same rules on its own calls."""
        return {}

    def single_input(self, row: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
        """The input of ``single_action`` for one row: by default the row in the list."""
        return {**row, self.list_field: common[self.list_field]} if self.list_field else dict(row)
