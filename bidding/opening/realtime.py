"""The opening hall's websocket group."""


def opening_group(tender_id: int) -> str:
    return f"opening.{int(tender_id)}"
