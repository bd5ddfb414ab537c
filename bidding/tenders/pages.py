"""What later stages add to a tender's page, without the tender stage knowing them.

The "Take part" panel links to the bid page, the opening hall and, later, the
evaluation and award pages. Each stage registers a provider from its
``AppConfig.ready()``; the tender page asks every provider, in order, for the link it
offers this user (or None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StageLink:
    label: str
    url: str
    # The panel's main call to action (one accent button) or a secondary link.
    primary: bool = False


@dataclass(frozen=True)
class PageFacts:
    """What the tender page already knows about the viewer, so providers need not ask."""

    owner: bool
    obtained: bool


Provider = Callable[..., "StageLink | None"]
_providers: dict[str, tuple[int, Provider]] = {}


def register_tender_link(name: str, provider: Provider, *, order: int) -> None:
    """``provider(user, tender, facts) -> StageLink | None``; lower ``order`` first."""
    _providers[name] = (order, provider)


def stage_links(user, tender, facts: PageFacts) -> list[StageLink]:
    links = []
    for _order, provider in sorted(_providers.values(), key=lambda p: p[0]):
        if (link := provider(user, tender, facts)) is not None:
            links.append(link)
    return links
