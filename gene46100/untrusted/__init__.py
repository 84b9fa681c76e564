"""Code that runs INSIDE the sandbox, in the same interpreter as student code.

Nothing here is trusted and nothing here imports from ``gene46100``: ``worker.py`` is
copied into each job folder and run as ``python -I worker.py`` where neither this
package nor the hidden checks are visible. Course-specific helpers reach it as source
code in a question's plan (``Question.adapters``), never as imports.
"""
