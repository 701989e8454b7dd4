"""keyz: balances, credits, spend and quotas of the API keys in your pass store."""

__version__ = "0.1.0"

__all__ = ["__version__"]
