"""The platform's side of the witness protocol (``audit.witness``): standard library HTTP.

``GET {url}/latest`` gives the witness's last cosigned tree head; ``POST {url}/cosign``
sends a new one with the consistency proof from that head and returns the cosignature.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

TIMEOUT = 5


class WitnessError(Exception):
    """The witness could not be reached, or refused the tree head (the message says why)."""


def _call(url: str, data: dict | None = None) -> dict:
    body = json.dumps(data).encode("utf-8") if data is not None else None
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read().decode("utf-8")).get("error", "")
        except (ValueError, AttributeError):
            reason = ""
        raise WitnessError(f"the witness answered {exc.code}: {reason}".strip()) from exc
    except (OSError, ValueError) as exc:
        raise WitnessError(f"the witness at {url} cannot be reached: {exc}") from exc


def witness_latest(base_url: str) -> dict:
    """``{"sth": ... or None, "cosignature": ...}``: what the witness cosigned last."""
    return _call(base_url.rstrip("/") + "/latest")


def witness_submit(base_url: str, *, sth: dict, first: int, proof: list[str],
                   platform_key_pem: str) -> dict:
    """Ask the witness to cosign ``sth``; ``proof`` is the consistency proof from the
    witness's last cosigned size ``first``. Returns the cosignature."""
    answer = _call(base_url.rstrip("/") + "/cosign",
                   {"sth": sth, "consistency": {"first": first, "proof": proof},
                    "platform_key": platform_key_pem})
    if not isinstance(answer.get("cosignature"), dict):
        raise WitnessError("the witness answered without a cosignature")
    return answer["cosignature"]
