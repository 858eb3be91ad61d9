"""The ``confidante`` command line."""
