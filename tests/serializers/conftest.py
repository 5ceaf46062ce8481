"""The file-format fixture of the serializer tests."""
import pytest

from .models import FORMATS


@pytest.fixture(params=sorted(FORMATS))
def file_format(request):
    """(save, load, file name) of one format; the load function's name starts its errors."""
    return FORMATS[request.param]
