"""Markdown rendering keeps what people write and drops anything that could run."""

from __future__ import annotations

from server.domain.markdown import render_markdown


def test_common_formatting_survives() -> None:
    html = render_markdown("# Title\n\n- **bold** and *em*\n- `code`\n\n> quote\n\n~~old~~")
    for fragment in ("<h1>", "<strong>bold</strong>", "<em>em</em>", "<code>code</code>"):
        assert fragment in html
    assert "<blockquote>" in html and "<s>old</s>" in html


def test_tables_render() -> None:
    html = render_markdown("| band | MHz |\n|---|---:|\n| n71 | 600 |")
    assert "<table>" in html and "<td" in html and "600" in html


def test_raw_html_is_shown_as_text() -> None:
    assert render_markdown("<b>x</b>") == "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"
