"""Imported first by the bench scripts, so that the standard library comes before this folder.

Python puts a script's folder first on ``sys.path``; here it holds ``profile.py``, which would
shadow the standard library's ``profile`` module (cProfile, and so transformers, import it).
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p != _HERE] + [_HERE]
