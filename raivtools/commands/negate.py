"""`raiv negate` (issue 4)."""

from raivtools.commands._options import not_implemented

main = not_implemented("negate", "issue 4")
