"""Shared fixtures: the example plant and its signal index."""

from __future__ import annotations

import pytest

from plantmind.core.plant import Plant, PlantIndex, example_plant_path, load_plant


@pytest.fixture(scope="session")
def plant() -> Plant:
    return load_plant(example_plant_path())


@pytest.fixture(scope="session")
def index(plant: Plant) -> PlantIndex:
    return PlantIndex.build(plant)
