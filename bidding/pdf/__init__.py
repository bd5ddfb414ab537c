"""PDF documents. A selector builds plain data; ``render`` turns it into bytes."""

from .receipt import receipt_pdf

__all__ = ["receipt_pdf"]
