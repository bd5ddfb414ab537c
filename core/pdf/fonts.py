"""A CJK font for PDFs: WenQuanYi Zen Hei embedded (subset) when installed, so the
record looks the same in every reader for years; otherwise reportlab's built-in
STSong-Light (not embedded, extracts correctly)."""

from __future__ import annotations

import functools
import os

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

WQY = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


@functools.cache
def cjk_font() -> str:
    if os.path.exists(WQY):
        pdfmetrics.registerFont(TTFont("WQYZenHei", WQY, subfontIndex=0))
        return "WQYZenHei"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"
