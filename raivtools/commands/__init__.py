"""One module per ``raiv`` subcommand, each exposing a click command named ``main``.

Keep module-level imports light (click, raivtools.io): heavy libraries (torch, spacy, open_clip) are
imported inside ``main`` so that ``raiv --help`` stays instant.
"""
