"""Shared fixtures: one dataset cache for the whole test session, never the user's own."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_data_cache(tmp_path_factory):
    """Point digitlab at a session-wide cache and keep it off the network.

    The first load parses the offline MNIST package (~2 s) and caches it; every
    later test loads the cache. Tests of the data layer set their own env vars.
    """
    saved = {name: os.environ.get(name) for name in ("DIGITLAB_CACHE", "DIGITLAB_OFFLINE", "DIGITLAB_DATA_DIR")}
    os.environ["DIGITLAB_CACHE"] = str(tmp_path_factory.mktemp("digitlab-cache"))
    os.environ["DIGITLAB_OFFLINE"] = "1"
    os.environ.pop("DIGITLAB_DATA_DIR", None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
