"""The learned mode of the risk score: a model trained on supervisors' case outcomes
(supervision/screens/score.py's random forest), stored as a joblib file."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import RiskModel

log = logging.getLogger(__name__)

#: Below this many labelled tenders (or without both outcomes) no model is trained: a
#: forest on a handful of cases would rank on noise.
DEFAULT_MIN_LABELLED = 20

_loaded: dict[str, object] = {}


def min_labelled() -> int:
    return int(getattr(settings, "SUPERVISION_MIN_LABELLED_TENDERS", DEFAULT_MIN_LABELLED))


def model_dir() -> Path:
    default = Path(settings.VAR_DIR) / "supervision"
    return Path(getattr(settings, "SUPERVISION_MODEL_DIR", default))


def _load(path: str):
    import joblib

    if path not in _loaded:
        _loaded[path] = joblib.load(path)
    return _loaded[path]


def active_model() -> RiskModel | None:
    return RiskModel.objects.filter(active=True, status=RiskModel.Status.TRAINED).first()


def active_model_scores(screening) -> dict:
    """Scores of the active trained model per tender; {} while none is trained (or its
    file cannot be read: the queue then keeps the unsupervised score)."""
    row = active_model()
    if row is None or not screening.tenders:
        return {}
    from .screens.score import learned_scores

    try:
        return learned_scores(_load(row.path), screening)
    except Exception:  # noqa: BLE001 - a lost model file must not break the queue
        log.exception("the learned risk model %s cannot be used", row.path)
        return {}


def retrain(*, now=None) -> RiskModel:
    """Train the learned model on the decided cases. Idempotent: the same labels and
    screen values give the active model back without training again."""
    from .cases import tender_labels
    from .screening import market_screening, rescore
    from .screens.score import fit_learned, learned_matrix

    now = now or timezone.now()
    labels = tender_labels()
    screening = market_screening()
    labels = {t: y for t, y in labels.items() if t in screening.tenders}
    keys = sorted(labels)
    x = learned_matrix(screening, keys) if keys else []
    digest = hashlib.sha256(json.dumps(
        {"labels": [[k, labels[k]] for k in keys],
         "x": [[None if v != v else float(v) for v in row] for row in x]},
        sort_keys=True).encode()).hexdigest()
    latest = RiskModel.objects.first()
    if latest is not None and latest.digest == digest:
        return latest
    confirmed = sum(labels.values())
    enough = len(labels) >= min_labelled() and 0 < confirmed < len(labels)
    if not enough:
        row = RiskModel.objects.create(status=RiskModel.Status.TOO_FEW_LABELS, trained_at=now,
                                       labelled=len(labels), confirmed=confirmed,
                                       digest=digest)
        log.info("risk model not trained: %s labelled tenders (%s confirmed), need %s with "
                 "both outcomes", len(labels), confirmed, min_labelled())
        return row
    import joblib

    model = fit_learned(screening, labels)
    folder = model_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"risk-model-{digest[:16]}.joblib"
    joblib.dump(model, path)
    with transaction.atomic():
        RiskModel.objects.filter(active=True).update(active=False)
        row = RiskModel.objects.create(status=RiskModel.Status.TRAINED, trained_at=now,
                                       labelled=len(labels), confirmed=confirmed,
                                       digest=digest, path=str(path), active=True)
        rescore()
    return row
