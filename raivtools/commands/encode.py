"""`raiv encode` (issue 5)."""

from raivtools.commands._options import not_implemented

main = not_implemented("encode", "issue 5")
