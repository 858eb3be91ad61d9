from __future__ import annotations

import inspect

import confidante
from confidante import errors


def test_all_is_sorted_and_complete():
    assert confidante.__all__ == sorted(confidante.__all__)
    for name in confidante.__all__:
        assert hasattr(confidante, name)


def test_every_error_is_exported_and_rooted():
    for name, obj in inspect.getmembers(errors, inspect.isclass):
        if obj.__module__ == errors.__name__:
            assert issubclass(obj, errors.ConfidanteError)
            assert name in confidante.__all__, name


def test_sync_wrapper_mirrors_async_core():
    public = {
        n
        for n, _ in inspect.getmembers(confidante.AsyncAssistant, inspect.iscoroutinefunction)
        if not n.startswith("_")
    }
    assert public <= set(dir(confidante.Assistant))
