"""A similarity screen for a person to review (``gene46100 similarity``).

It reads a graded output folder (``records.jsonl`` and ``answers/<id>.json``) and
writes ``similarity.html`` and ``similarity.csv`` beside them: pairs of submissions
ranked by how much graded code and written answers they share. It is a screen, not a
verdict: it never reads or changes scores, records or feedback, and a person decides.

- fingerprints.py: winnowing over normalised Python tokens (the graded code);
- shingles.py: word shingles and shared sentences (the written answers);
- screen.py: what is compared with what, boilerplate, thresholds, the ranked pairs;
- page.py: the HTML page and the CSV;
- command.py: ``gene46100 similarity`` (argparse and the handler).
"""
