"""Links: layers with parameters (``import dchain.links as L``)."""
from dchain.links.connection.linear import Linear  # noqa: F401
