"""Tables: one pattern for every page (macros.table / paged_table), each cell labelled with its
column's heading so that a phone shows a row as a card (tests/web/browser checks the layout)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tests.helpers import web

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


class Tables(HTMLParser):
    """The tables of a page: class, headings, and each body row's cells (label, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self._cell: dict[str, Any] | None = None
        self._part = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.tables.append({"class": a.get("class") or "", "heads": [], "rows": []})
        elif tag in ("thead", "tbody", "tfoot"):
            self._part = tag
        elif tag == "tr" and self.tables and self._part != "thead":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = {"label": a.get("data-label"), "empty": "data-empty" in a, "text": ""}
            if self._part == "thead":
                self.tables[-1]["heads"].append(self._cell)
            else:
                self.tables[-1]["rows"][-1].append(self._cell)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell["text"] += data


def _tables(html: str) -> list[dict[str, Any]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def test_every_table_of_the_templates_is_made_by_the_macro() -> None:
    """A page's own <table> would not stack on a phone: use macros.table (or paged_table)."""
    raw = [str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")
           if p.name != "macros.html" and "<table" in p.read_text(encoding="utf-8")]
    assert raw == [], f"use {{% call table(...) %}} from macros.html in {raw}"


def test_each_cell_is_labelled_by_its_heading(backend: str, as_role: Any, people: Any) -> None:
    lst = web.contact_list(numbers=2)
    hostile = 'Họp </td><td data-label="x">giả</td> & <b>đậm</b>'
    web.campaign(people["editor"], lst, title=hostile)
    web.campaign(people["editor"], lst, title="Thông báo lịch tiếp công dân")
    page = as_role("editor").get("/campaigns")
    assert page.status_code == 200
    [table] = _tables(page.get_data(as_text=True))
    assert table["class"].split()[0] == "stack"
    heads = [h["text"].strip() for h in table["heads"]]
    assert len(heads) >= 5 and heads[1] == "Tiêu đề"
    assert len(table["rows"]) == 2
    for row in table["rows"]:
        # The title's markup is text: it adds no cell and takes no label.
        assert len(row) == len(heads)
        assert [c["label"] for c in row] == [h or None for h in heads]
    titles = [row[1]["text"].strip() for row in table["rows"]]
    assert hostile in titles
    # An empty value (no phase yet shows "—", an empty name nothing) is marked, so a card
    # leaves it out; a filled one is not.
    assert not any(c["empty"] for row in table["rows"] for c in row if c["text"].strip())


def test_an_empty_list_says_so_across_the_row(backend: str, as_role: Any) -> None:
    page = as_role("editor").get("/campaigns?q=không-có-gì")
    [table] = _tables(page.get_data(as_text=True))
    [[message]] = table["rows"]
    assert message["label"] is None and message["text"].strip()


def test_a_table_of_figures_stays_a_table(backend: str, as_role: Any, people: Any) -> None:
    """The composer's cost table is filled by its script: it keeps its columns on a phone."""
    page = as_role("editor").get("/campaigns/new")
    tables = _tables(page.get_data(as_text=True))
    assert tables and all("tabular" in t["class"].split() for t in tables)
