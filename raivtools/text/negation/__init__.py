"""Hard negative captions after NAVERO (seed 004, §3.1): rule-based, masked-LM and mixed, over several rounds.

``Negator(NegateConfig(...)).negate(texts, keys)`` returns one :class:`Negative` per text. The word lists are
supplementary Table 8 of the paper, shipped in ``raivtools/text/wordlists``.
"""

from raivtools.text.negation.edits import Edit
from raivtools.text.negation.mlm import DEFAULT_MLM, MaskedLM
from raivtools.text.negation.negator import GENERATORS, NegateConfig, Negative, Negator
from raivtools.text.negation.wordlists import CATEGORY_TYPES, TYPES, WordLists, load_wordlists

__all__ = [
    "CATEGORY_TYPES", "DEFAULT_MLM", "GENERATORS", "TYPES", "Edit", "MaskedLM", "NegateConfig", "Negative", "Negator",
    "WordLists", "load_wordlists",
]
