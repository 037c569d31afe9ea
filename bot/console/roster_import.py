"""成员 › 导入名册: upload a roster file (CSV or XLSX, as `palmbot members import` reads), see every row judged
(bad rows with their line and why; good rows with what they will do, role changes marked) and apply only the
good rows on confirm.

Between the preview and the confirm nothing is kept on the server: the preview page carries the file's cells
(compressed, in a hidden field) and a digest of the preview; applying judges the cells again and refuses if
the outcome differs from what was shown (someone changed the roster meanwhile), showing the new preview.

A file of more than MOST_ROWS rows is refused (413) before it is checked: judging that many rows keeps a preview
well under a second. Reading, packing and checking the cells run in a worker thread, off the event loop that
answers members' messages.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import zlib
from collections.abc import Callable

from aiohttp import web

from bot.console.members import HERE, actor_of, listing, masked
from bot.console.web import PayloadTooLarge, page, refusal, secretary, services
from bot.roster.imports import ImportResult, RosterError, Table, TooManyRows, limited, upload_table
from bot.roster.scope import Preview, apply, preview

routes = web.RouteTableDef()
CELLS_LIMIT = 8 * 1024 * 1024  # bytes of a file's cells once inflated (the upload itself is at most 1 MiB)
MOST_ROWS = 3000  # rows of one file: measured, 3,000 rows preview in 0.1–0.4 s on SQLite or PostgreSQL


@routes.get(f"{HERE}/import")
async def upload_form(request: web.Request) -> web.Response:
    """The upload form, with the columns a roster needs."""
    secretary(request)
    return page(request, "members_import.html", shown=None, most=MOST_ROWS)


@routes.post(f"{HERE}/import")
async def upload(request: web.Request) -> web.Response:
    """A roster file uploaded (multipart field `file`): its preview; nothing is applied. More than MOST_ROWS
    rows is 413."""
    who = secretary(request)
    sent = (await request.post()).get("file")
    if not isinstance(sent, web.FileField) or not sent.filename:
        raise refusal(request, web.HTTPBadRequest, "bad_request", what="请选择要导入的名册文件（CSV 或 XLSX）。")
    try:
        table = await asyncio.to_thread(upload_table, sent.filename, sent.file.read(), most=MOST_ROWS)
    except TooManyRows as exc:
        raise _too_many(request, exc) from exc
    except RosterError as exc:
        raise refusal(request, web.HTTPBadRequest, "bad_request",
                      what="无法读取这个文件，请上传 UTF-8 编码的 CSV 或 XLSX 名册。") from exc
    async with services(request).sessionmaker() as session:
        judged = await preview(session, table, actor=actor_of(who))
    return await _page(request, judged, table)


@routes.post(f"{HERE}/import/apply")
async def confirm(request: web.Request) -> web.Response:
    """Apply the good rows of the preview whose cells and digest the form carries; if judging the cells now
    gives another preview, nothing is applied and the new preview is shown (409)."""
    who = secretary(request)
    fields = await request.post()
    table = await asyncio.to_thread(unpacked, str(fields.get("cells", "")))
    if table is None:
        raise refusal(request, web.HTTPBadRequest, "bad_request", what="导入内容有误，请重新上传名册文件。")
    try:
        list(limited(table, MOST_ROWS))
    except TooManyRows as exc:
        raise _too_many(request, exc) from exc
    svc, actor = services(request), actor_of(who)
    async with svc.sessionmaker.begin() as session:
        judged = await preview(session, table, actor=actor)
        if judged.digest != fields.get("digest") or not judged.good:  # nothing written: preview only reads
            return await _page(request, judged, table, status=409 if judged.good else 400, stale=bool(judged.good))
        summary = _summary(request, skipped=len(judged.bad))
        result = await apply(session, judged, actor=actor, now=svc.clock(), summary=summary)
    return await listing(request, who, imported=summary(result))


def _summary(request: web.Request, *, skipped: int) -> Callable[[ImportResult], str]:
    """The sentence saying what an import did (`replies/roster_imported.j2`), for the audit trail and the page."""
    content = services(request).content
    return lambda result: content.render("roster_imported", result=result, skipped=skipped)


def _too_many(request: web.Request, exc: TooManyRows) -> web.HTTPException:
    return refusal(request, PayloadTooLarge, "too_many_rows", most=exc.most)


async def _page(request: web.Request, judged: Preview, table: Table, *, status: int = 200,
                stale: bool = False) -> web.Response:
    return page(request, "members_import.html", status=status, shown=judged, stale=stale, most=MOST_ROWS,
                cells=await asyncio.to_thread(packed, table),
                phones={p.row.line: masked(p.row.phone) for p in judged.good})


def packed(table: Table) -> str:
    """A table as the preview form's hidden field carries it: JSON, compressed, URL-safe base64."""
    return base64.urlsafe_b64encode(zlib.compress(json.dumps(table, ensure_ascii=False).encode(), 9)).decode()


def unpacked(text: str) -> Table | None:
    """The table a form carried back (`packed`); None for anything that is not one."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.urlsafe_b64decode(text.encode()), CELLS_LIMIT)
        table = json.loads(raw) if not inflater.unconsumed_tail else None
    except (binascii.Error, zlib.error, ValueError):
        table = None
    if not (isinstance(table, list) and all(isinstance(row, list) and all(isinstance(c, str) for c in row)
                                            for row in table)):
        return None
    return table
