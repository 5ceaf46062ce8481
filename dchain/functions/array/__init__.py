"""array functions; see dchain.functions for the public names."""
