import pytest
from coord_case import make_net


@pytest.fixture
def net():
    return make_net()
