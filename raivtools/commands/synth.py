"""`raiv synth` (issue 2)."""

from raivtools.commands._options import not_implemented

main = not_implemented("synth", "issue 2")
