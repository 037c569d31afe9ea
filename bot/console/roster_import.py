"""成员 › 导入名册: upload a roster file (CSV or XLSX, as `palmbot members import` reads), see every row judged
(bad rows with their line and why; good rows with what they will do) and apply only the good rows on confirm.

Between the preview and the confirm nothing is kept on the server: the preview page carries the file's cells
(compressed, in a hidden field) and a digest of the preview; applying judges the cells again and refuses if
the outcome differs from what was shown (someone changed the roster meanwhile), showing the new preview.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

from aiohttp import web

from bot.console.members import HERE, listing, masked
from bot.console.web import Viewer, page, refusal, secretary, services
from bot.roster import RosterError, Table, upload_table
from bot.roster_scope import Preview, apply, preview

routes = web.RouteTableDef()
CELLS_LIMIT = 8 * 1024 * 1024  # bytes of a file's cells once inflated (the upload itself is at most 1 MiB)


@routes.get(f"{HERE}/import")
async def upload_form(request: web.Request) -> web.Response:
    """The upload form, with the columns a roster needs."""
    secretary(request)
    return page(request, "members_import.html", shown=None)


@routes.post(f"{HERE}/import")
async def upload(request: web.Request) -> web.Response:
    """A roster file uploaded (multipart field `file`): its preview; nothing is applied."""
    who = secretary(request)
    sent = (await request.post()).get("file")
    if not isinstance(sent, web.FileField) or not sent.filename:
        raise refusal(request, web.HTTPBadRequest, "bad_request", what="请选择要导入的名册文件（CSV 或 XLSX）。")
    try:
        table = upload_table(sent.filename, sent.file.read())
    except RosterError as exc:
        raise refusal(request, web.HTTPBadRequest, "bad_request",
                      what="无法读取这个文件，请上传 UTF-8 编码的 CSV 或 XLSX 名册。") from exc
    return await _previewed(request, who, table)


@routes.post(f"{HERE}/import/apply")
async def confirm(request: web.Request) -> web.Response:
    """Apply the good rows of the preview whose cells and digest the form carries; if judging the cells now
    gives another preview, nothing is applied and the new preview is shown (409)."""
    who = secretary(request)
    fields = await request.post()
    table = _unpacked(request, str(fields.get("cells", "")))
    svc = services(request)
    async with svc.sessionmaker.begin() as session:
        judged = await preview(session, table, within=who.governed)
        if judged.digest != fields.get("digest") or not judged.good:  # nothing written: preview only reads
            return _page(request, judged, table, status=409 if judged.good else 400, stale=bool(judged.good))
        result = await apply(session, judged, actor_id=who.member_id, org_id=who.org_id, now=svc.clock())
    return await listing(request, who, imported=result, skipped=len(judged.bad))


async def _previewed(request: web.Request, who: Viewer, table: Table) -> web.Response:
    async with services(request).sessionmaker() as session:
        judged = await preview(session, table, within=who.governed)
    return _page(request, judged, table)


def _page(request: web.Request, judged: Preview, table: Table, *, status: int = 200,
          stale: bool = False) -> web.Response:
    return page(request, "members_import.html", status=status, shown=judged, stale=stale, cells=packed(table), phones={p.row.line: masked(p.row.phone) for p in judged.good})


def packed(table: Table) -> str:
    """A table as the preview form's hidden field carries it: JSON, compressed, URL-safe base64."""
    return base64.urlsafe_b64encode(zlib.compress(json.dumps(table, ensure_ascii=False).encode(), 9)).decode()


def _unpacked(request: web.Request, text: str) -> Table:
    """The table a form carried back; 400 for anything that is not one."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.urlsafe_b64decode(text.encode()), CELLS_LIMIT)
        table = json.loads(raw) if not inflater.unconsumed_tail else None
    except (binascii.Error, zlib.error, ValueError):
        table = None
    if not (isinstance(table, list) and all(isinstance(row, list) and all(isinstance(c, str) for c in row)
                                            for row in table)):
        raise refusal(request, web.HTTPBadRequest, "bad_request", what="导入内容有误，请重新上传名册文件。")
    return table
