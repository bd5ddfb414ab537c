"""The bid receipt as a PDF."""
