"""Badges drawn as shields.io draws its "flat" style: a grey label and a coloured message,
two rectangles clipped to rounded corners, white Verdana 11 px text with a faint shadow.

Text widths come from a table of Verdana's advance widths at 11 px (others: an average), as
close as a badge needs without a font file. Text is XML-escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

# shields.io's named colours.
COLOURS = {
    "brightgreen": "#4c1",
    "green": "#97ca00",
    "yellowgreen": "#a4a61d",
    "yellow": "#dfb317",
    "orange": "#fe7d37",
    "red": "#e05d44",
    "lightgrey": "#9f9f9f",
    "grey": "#555",
}

# Verdana's advance widths at 11 px, in pixels.
_LOWER = "6.65 6.83 5.72 6.83 6.56 3.78 6.83 6.97 3.01 3.79 6.5 3.01 10.7 6.97 6.68 6.83 6.83 4.69 5.73 4.33 6.97 6.5 8.99 6.5 6.5 5.62"  # noqa: E501
_UPPER = "7.52 7.54 7.68 8.48 6.96 6.32 8.53 8.27 4.61 5.0 7.62 6.12 9.27 8.23 8.66 6.63 8.66 7.65 7.52 6.78 8.05 7.52 10.88 7.54 6.77 7.54"  # noqa: E501
_OTHERS = {" ": 3.87, ".": 3.87, ",": 3.87, ":": 4.58, "-": 4.99, "_": 7.0, "%": 11.87, "/": 4.99}
_WIDTHS = {
    **dict.fromkeys("0123456789", 7.0),
    **dict(zip("abcdefghijklmnopqrstuvwxyz", map(float, _LOWER.split()), strict=True)),
    **dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", map(float, _UPPER.split()), strict=True)),
    **_OTHERS,
}
_AVERAGE = 7.0
PADDING = 10  # 5 px either side of the text


def text_width(text: str) -> float:
    return sum(_WIDTHS.get(char, _AVERAGE) for char in text)


def render_badge(label: str, message: str, colour: str) -> str:
    """The SVG of a badge; ``colour`` is a name of ``COLOURS`` or a ``#rgb`` value."""
    fill = COLOURS.get(colour, colour)
    label_width = round(text_width(label) + PADDING)
    message_width = round(text_width(message) + PADDING)
    width = label_width + message_width
    title = escape(f"{label}: {message}")
    label_x = label_width / 2
    message_x = label_width + message_width / 2

    def text(x: float, value: str) -> str:
        return (
            f'<text x="{x:g}" y="15" fill="#010101" fill-opacity=".3">{escape(value)}</text>'
            f'<text x="{x:g}" y="14">{escape(value)}</text>'
        )

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f"aria-label={quoteattr(f'{label}: {message}')}>"
        f"<title>{title}</title>"
        '<linearGradient id="s" x2="0" y2="100%">'
        '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        '<g clip-path="url(#r)">'
        f'<rect width="{label_width}" height="20" fill="{COLOURS["grey"]}"/>'
        f'<rect x="{label_width}" width="{message_width}" height="20" fill="{fill}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f"{text(label_x, label)}{text(message_x, message)}</g></svg>"
    )
