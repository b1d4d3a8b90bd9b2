import pytest
from tests.coordinator.coord_case import make_net


@pytest.fixture
def net():
    return make_net()
