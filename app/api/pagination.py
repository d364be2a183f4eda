"""Cursor pagination: keyset on (sort key, id), so a page never repeats or skips a row when others are added.

A list answers `{"items": [...], "next_cursor": "…" | null}` and a `Link: <…>; rel="next"` header.
The cursor is opaque to clients (base64url of the last row's sort key and id, and the list's
name): it is only ever handed back as `?cursor=`. A cursor of another list, or a forged one, is
a 400 like any refused input.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import marshmallow as ma
from flask import request
from sqlalchemy import Select, and_, or_
from webargs.flaskparser import abort

from app.api.framework import Strict
from app.core.types import UTCDateTime
from app.extensions import db

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 400


class PageArgs(Strict):
    """The query arguments every list takes."""

    cursor = ma.fields.String(
        load_default=None, validate=ma.validate.Length(min=1, max=MAX_CURSOR_LENGTH),
        metadata={"description": "The `next_cursor` of the previous page (opaque)"},
    )
    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Items per page, 1–{MAX_LIMIT}"},
    )


_PAGE_SCHEMAS: dict[str, type[ma.Schema]] = {}


def page_of(item: type[ma.Schema]) -> type[ma.Schema]:
    """The schema of one page of `item` (one class per item schema, for a stable OpenAPI name)."""
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    if name not in _PAGE_SCHEMAS:
        _PAGE_SCHEMAS[name] = type(name, (Strict,), {
            "items": ma.fields.List(ma.fields.Nested(item), required=True),
            "next_cursor": ma.fields.String(
                required=True, allow_none=True, metadata={"description": "null on the last page"}
            ),
        })
    return _PAGE_SCHEMAS[name]


@dataclass(frozen=True)
class Keyset:
    """How a list is ordered: a non-null sort column, then the id, ascending or descending."""

    name: str
    column: Any
    id_column: Any
    descending: bool = False

    def ordered(self, statement: Select) -> Select:
        """The statement in this order."""
        if self.descending:
            return statement.order_by(self.column.desc(), self.id_column.desc())
        return statement.order_by(self.column, self.id_column)

    def after(self, statement: Select, value: Any, last_id: int) -> Select:
        """The rows after (value, last_id) in this order."""
        # Spelled out rather than as a row-value comparison: compared with the column itself, the
        # value goes through the column's type (UTC times are stored differently on SQLite).
        if self.descending:
            return statement.where(or_(self.column < value, and_(self.column == value, self.id_column < last_id)))
        return statement.where(or_(self.column > value, and_(self.column == value, self.id_column > last_id)))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(keyset: Keyset, value: Any, last_id: int) -> str:
    """The opaque cursor after a row."""
    raw = json.dumps([keyset.name, _plain(value), last_id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _refuse_cursor() -> None:
    abort(400, messages={"query": {"cursor": ["Not a cursor of this list."]}})


def decode_cursor(keyset: Keyset, cursor: str) -> tuple[Any, int]:
    """(sort value, id) from a cursor of this list; a 400 for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error, TypeError):
        _refuse_cursor()
    if name != keyset.name or not isinstance(last_id, int) or isinstance(last_id, bool) or not 0 < last_id < 2**31:
        _refuse_cursor()
    if isinstance(keyset.column.type, UTCDateTime):
        try:
            value = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            _refuse_cursor()
        if value.tzinfo is None:
            _refuse_cursor()
    elif not isinstance(value, str | int) or isinstance(value, bool):
        _refuse_cursor()
    return value, last_id


def _next_link(cursor: str) -> str:
    args = request.args.to_dict()
    args["cursor"] = cursor
    query = urlencode(args)
    return f'<{request.base_url}?{query}>; rel="next"'


def page(statement: Select, keyset: Keyset, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """One page of a select(): the body to dump and the headers (Link to the next page)."""
    limit = args["limit"]
    if args.get("cursor"):
        value, last_id = decode_cursor(keyset, args["cursor"])
        statement = keyset.after(statement, value, last_id)
    rows = list(db.session.scalars(keyset.ordered(statement).limit(limit + 1)).unique())
    items, more = rows[:limit], len(rows) > limit
    cursor = None
    if more:
        last = items[-1]
        cursor = encode_cursor(keyset, getattr(last, keyset.column.key), last.id)
    headers = {"Link": _next_link(cursor)} if cursor else {}
    return {"items": items, "next_cursor": cursor}, headers
