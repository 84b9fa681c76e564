"""Benchmarks for gene46100, side by side on one machine: ``python -m benchmarks.run``.

One module per benchmark (``grading``, ``breakdown``, ``selfcheck``, ``training``,
``kernels``); ``benchmarks.common`` holds timing, rows and table printing. These are
measurements, not timed tests: ``--quick`` checks that they run, not that they are fast.
"""
