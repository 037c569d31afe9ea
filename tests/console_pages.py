"""Reading console pages in tests: an element's text by its id, a table's rows by its id."""

from __future__ import annotations

import re
from html import unescape

_TAG = re.compile(r"<[^>]+>")


def text_of(html: str) -> str:
    """HTML as text: tags dropped, entities decoded."""
    return unescape(_TAG.sub("", html))


def part(page: str, element_id: str) -> str:
    """The text of the element with this id (to the end of its paragraph, division or table)."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)(?:</table>|</p>|</div>)', page, re.DOTALL)
    assert found, (element_id, page)
    return text_of(found.group(1))


def rows(page: str, table_id: str) -> list[tuple[str, ...]]:
    """The body rows of the table with this id, as each cell's text."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.DOTALL)
    assert body, (table_id, page)
    return [tuple(text_of(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL))
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.DOTALL)]
