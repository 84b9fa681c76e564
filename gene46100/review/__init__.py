"""The review: people grade the written (manual) answers against the rubrics.

Read in the order data flows:

- ``store``: the SQLite store in the output folder (``DIR/review.sqlite``): the
  rubrics (seeded from ``autograder/<week>/rubrics.json``), each answer's content
  hash and place in the shuffled queue, each grade and its version. Every change is
  committed the moment it is made. ``store.manual_grades(DIR)`` is the read API the
  gradebook calls.
- ``render``: a submitted answer as HTML that cannot run: Markdown with LaTeX math
  (rendered to MathML on the server, no script and no CDN), notebook outputs, all
  sanitised with nh3.
- ``server``: the Flask app (token, CSRF, Content-Security-Policy; blind, by
  question) and ``csvio``: the offline CSV round trip.
- ``cli``: ``gene46100 review <week> --out DIR``.

The review reads only the output folder of ``gene46100 grade`` (``records.jsonl``
and ``answers/<id>.json``) and the grading material (``autograder/<week>/``).
"""
