#!/usr/bin/env bash
# The grader isolates student code with bubblewrap (no Docker needed).
set -u
if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing bubblewrap (Debian package) for the grading sandbox"
  apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null && exit 0
fi
echo "WARNING: bubblewrap (bwrap) is not installed; 'gene46100 grade' will refuse to run" >&2
echo "         without it. Install it with your package manager (e.g. apt-get install bubblewrap)." >&2
exit 0
