"""Atom 1.0 (RFC 4287) of a country's initiatives."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from server.feeds.common import FeedInfo, entry_id

ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(info: FeedInfo, initiatives: list[dict[str, Any]]) -> bytes:
    ElementTree.register_namespace("", ATOM)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", info.feed_id)
    _text(feed, "title", info.title)
    _text(feed, "subtitle", info.description)
    _text(feed, "updated", info.updated)
    _link(feed, info.page_url, "alternate", "text/html")
    _link(feed, info.atom_url, "self", "application/atom+xml")
    author = ElementTree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "GNRP Live")
    for initiative in initiatives:
        entry = ElementTree.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", entry_id(info, initiative))
        _text(entry, "title", initiative["title"])
        _text(entry, "updated", initiative["updated_at"])
        _text(entry, "published", initiative["created_at"])
        _link(entry, f"{info.base_url}/initiatives/{initiative['id']}", "alternate", "text/html")
        summary = _text(entry, "summary", initiative["summary_html"])
        summary.set("type", "html")
        category = ElementTree.SubElement(entry, f"{{{ATOM}}}category")
        category.set("term", initiative["theme"])
    body: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _text(parent: ElementTree.Element, tag: str, value: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = value
    return element


def _link(parent: ElementTree.Element, href: str, rel: str, media_type: str) -> None:
    link = ElementTree.SubElement(parent, f"{{{ATOM}}}link")
    link.set("href", href)
    link.set("rel", rel)
    link.set("type", media_type)
