"""Fixtures of the model-delivery tests."""

from __future__ import annotations

import pytest
from _models_builders import Keys, new_keys


@pytest.fixture
def keys() -> Keys:
    return new_keys()
