"""Hidden tests for week 2 (trusted side). See ``gene46100.checks`` for the API.

Every question draws fresh inputs from the grading RNG (random signals, filters, DNA,
layers and 8-mers), sends only those into the sandbox, and recomputes the expected
answers here with the reference and, where one exists, with PyTorch itself
(``F.conv1d`` for convolutions and PWM scans, real ``nn.Conv1d`` layers for the
formulas). Messages say what was expected and what came back and name the likely
mistake when a known wrong variant reproduces the answer; they never print hidden
input values.

Each question is its own module, ``q<NN>_<topic>.py`` (found by ``checks.questions``);
what several share is in ``common.py``. A question's CPU budget and review topic
are in its config in the master (``budget:``, ``topic:``).

Grader-owned objects reach the sandbox as ``adapters`` source: ``_grader_Conv1d`` (a
plain ``nn.Conv1d``), ``_grader_DataLoader``/``_grader_TensorDataset`` (to build the
loaders ``train_model`` receives) and ``_grader_SpyCNN``, a ``DNA_CNN`` that records,
for every forward call, whether the model was in training mode, whether gradients were
enabled and the batch size (q7 reads that record back to see how validation was run).
"""
