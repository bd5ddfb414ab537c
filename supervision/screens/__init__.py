"""The collusion-screen engine (issue 13): one function per flag, a market screening,
and the tender risk score. Plain Python on row dicts: no Django needed."""
