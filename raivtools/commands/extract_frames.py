"""`raiv extract-frames` (issue 5)."""

from raivtools.commands._options import not_implemented

main = not_implemented("extract-frames", "issue 5")
