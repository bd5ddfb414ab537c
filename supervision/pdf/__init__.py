"""Supervision documents as signed PDFs: the penalty decision letter."""
