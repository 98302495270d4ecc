"""Bulk import of a spreadsheet (CSV or xlsx) through a running service: ``connector import``.

A catalog says which of its actions imports rows by mixing :class:`ImportsRows` into it; the
importer reads the file, validates every row with that action's own schema before anything is
sent, writes the rejected rows to a CSV, and sends the rest in batches with an idempotency key
each, so that an interrupted import can be run again without sending anything twice.
"""

from connector.bulk.declaration import ImportsRows

__all__ = ["ImportsRows"]
