"""Test helpers: numerical gradient checks and array comparison."""
from dchain.testing.gradient_check import (assert_allclose, check_backward,  # noqa: F401
                                           check_double_backward, numerical_grad)
