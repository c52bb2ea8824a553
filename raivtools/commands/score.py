"""`raiv score` (issue 6)."""

from raivtools.commands._options import not_implemented

main = not_implemented("score", "issue 6")
