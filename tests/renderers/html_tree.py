"""A tiny HTML reader for tests: the elements of a page, checked for balanced tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    parents: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), parents=[e.tag for e in self.open])
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1].tag == tag, f"unbalanced </{tag}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text += data


def read(html: str) -> list[Element]:
    """The elements of `html` in document order; fails on unbalanced tags."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    assert not reader.open, f"unclosed {[e.tag for e in reader.open]}"
    return reader.elements


def find(elements: list[Element], tag: str, **attrs: str) -> list[Element]:
    return [e for e in elements if e.tag == tag
            and all(e.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]


def by_id(elements: list[Element], ident: str) -> Element:
    (element,) = [e for e in elements if e.attrs.get("id") == ident]
    return element
