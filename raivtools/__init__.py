"""raiv: small composable tools for video-and-image language research.

The package is the library; ``raivtools.cli`` is the thin command-line layer over it.
"""

__version__ = "0.1.0"
