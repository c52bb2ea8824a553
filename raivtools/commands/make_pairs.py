"""`raiv make-pairs` (issue 3)."""

from raivtools.commands._options import not_implemented

main = not_implemented("make-pairs", "issue 3")
