"""The signed opening record as a PDF."""
