"""Small bar charts as inline SVG, drawn on the server: readable without JavaScript and light."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

BAR_COLOUR = "#0b5cad"


def bar_chart(title: str, counts: dict[str, int], *, width: int = 320) -> Markup:
    """Horizontal bars, one per label, with the count at the end of each."""
    row, label_width = 22, 110
    height = max(1, len(counts)) * row + 8
    largest = max(counts.values(), default=0) or 1
    bars = []
    for index, (label, value) in enumerate(counts.items()):
        y = 4 + index * row
        length = round((width - label_width - 40) * value / largest)
        bars.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{length}" height="15" '
            f'fill="{BAR_COLOUR}"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{label_width + length + 4}" y="{y + 15}" font-size="12">{value}</text>'
        )
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} '
        f'{height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}'
        f"</title>{''.join(bars)}</svg>"
    )
