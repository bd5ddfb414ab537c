"""The platform core: what every stage of the procedure stands on.

Platform keys, refusals and the API error registry, the clock and its job registry,
the statutory numbers, websocket broadcasting, PDF fonts and signing. It imports no
domain app: the stages add their clock jobs and API errors to its registries from
their ``AppConfig.ready()``.
"""
