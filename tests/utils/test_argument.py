import pytest

from dchain.utils import argument


def test_parse_kwargs():
    kwargs = {'ratio': 0.3}
    assert argument.parse_kwargs(kwargs, ('ratio', 0.5), ('train', True)) == (0.3, True)
    with pytest.raises(TypeError, match="unexpected keyword argument\\(s\\) 'other'"):
        argument.parse_kwargs({'other': 1}, ('ratio', 0.5))
    with pytest.raises(ValueError, match='use using_config'):
        argument.parse_kwargs({'train': 1}, ('ratio', 0.5), train='use using_config')
    argument.assert_kwargs_empty({})
