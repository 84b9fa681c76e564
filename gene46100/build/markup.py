"""Otter's assign markup in master notebooks and scripts, and how to strip it."""

from __future__ import annotations

import re

PROMPT_BLOCK = re.compile(
    r'^\s*""" # BEGIN PROMPT\n.*?^\s*""";? # END PROMPT\n?', re.S | re.M
)
MARKER_LINE = re.compile(r"^\s*# (BEGIN|END) SOLUTION( NO PROMPT)?\s*$\n?", re.M)
TOP_LEVEL_GAP = re.compile(r"\n+(?=(?:def |class |@)\w)")
SOLUTION_SUFFIX = re.compile(r"\s*# SOLUTION( NO PROMPT)?\s*$", re.M)


def strip_assign_markup(source: str) -> str:
    """Solution code without Otter's prompt blocks and markers."""
    source = PROMPT_BLOCK.sub("", source + "\n")
    source = MARKER_LINE.sub("", source)
    return SOLUTION_SUFFIX.sub("", source).rstrip() + "\n"


SCRIPT_SOLUTION = re.compile(
    r"^[ \t]*# BEGIN SOLUTION\n.*?^[ \t]*# END SOLUTION\n", re.S | re.M
)
SCRIPT_PROMPT_MARKER = re.compile(r'^[ \t]*""" +# (BEGIN|END) PROMPT[ \t]*\n', re.M)
LEFTOVER_MARKUP = re.compile(r"# (BEGIN|END) (PROMPT|SOLUTION)\b")


def student_script(source: str) -> str:
    """A script's student template: solutions out, prompts in.

    Raises:
        ValueError: markup is left over (a marker the patterns did not recognise,
            e.g. reformatted by a tool), which would ship solutions or break the
            template.
    """
    template = SCRIPT_PROMPT_MARKER.sub("", SCRIPT_SOLUTION.sub("", source))
    leftover = LEFTOVER_MARKUP.search(template)
    if leftover:
        line = template[: leftover.start()].count("\n") + 1
        raise ValueError(f"line {line} of the template still has {leftover.group(0)!r}")
    return template
