"""The ``confidante`` command line; ``main`` is its entry point.

The commands' modules are imported when the command line runs, not with this package, so
``confidante.cli.vllm_server`` (used by benches and tests) costs no CLI start-up.
"""


def main() -> None:
    """Run the command line."""
    from confidante.cli.app import main as run

    run()
