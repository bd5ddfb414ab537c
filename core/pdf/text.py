"""Text into reportlab without markup injection.

reportlab's ``Paragraph`` parses its text as XML-like markup: a tender title ``A<B``
breaks the document, and ``<img src="/etc/...">`` would embed a file from the server's
disk into a platform-signed PDF. Every string that reaches a PDF goes through
``para``/``lines``: it is escaped, control characters are dropped, and line breaks
become ``<br/>``; markup is only ever the renderer's own.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from reportlab.platypus import Paragraph

# C0 controls except tab and newline, DEL, and the C1 block: not text, and some of
# them make the PDF text extraction or the XML parser misbehave.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text) -> str:
    """``text`` as reportlab markup that shows exactly that text."""
    cleaned = _CONTROL.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n")
    return escape(cleaned).replace("\n", "<br/>")


def para(text, style) -> Paragraph:
    """A paragraph showing ``text`` literally."""
    return Paragraph(safe(text), style)


def lines(*parts, style) -> Paragraph:
    """One paragraph, each part on its own line, each shown literally."""
    return Paragraph("<br/>".join(safe(p) for p in parts), style)
