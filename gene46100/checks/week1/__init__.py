"""Hidden tests for week 1 (trusted side). See ``gene46100.checks`` for the API.

Every question draws fresh inputs from the grading RNG, sends only ``plan.arrays``
into the sandbox, and recomputes the expected answers here with the reference.
Messages say what was expected and what came back (shapes, relative sizes, largest
differences) and name the likely mistake when a known wrong variant matches; they
never print hidden input values.

Each question is its own module, ``q<NN>_<topic>.py`` (found by ``checks.questions``);
what several share is in ``common.py``. A question's CPU budget and review topic
are in its config in the master (``budget:``, ``topic:``).
"""
