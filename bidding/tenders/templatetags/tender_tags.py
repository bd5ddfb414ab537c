from django import template

from ..lifecycle import ACTOR_LABELS

register = template.Library()


@register.filter
def by_label(value) -> str:
    """A lifecycle actor ("clock", "tenderer" ...) as words: "the clock"."""
    return str(ACTOR_LABELS.get(value, value))
