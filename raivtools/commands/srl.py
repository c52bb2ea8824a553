"""`raiv srl` (issue 3)."""

from raivtools.commands._options import not_implemented

main = not_implemented("srl", "issue 3")
