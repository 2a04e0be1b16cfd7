"""hybridocean: physics + neural-network hybrid models of ocean dynamics (APHYNITY)."""
__version__ = "0.1.0"
