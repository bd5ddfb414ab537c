"""The learned mode of the risk score: a model trained on supervisors' case outcomes."""

from __future__ import annotations


def active_model_scores(screening) -> dict:
    """Scores of the active trained model per tender; {} while no model is trained."""
    return {}
