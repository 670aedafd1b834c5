"""The real OpenID provider, once for every login test under tests/auth."""

from tests.oidc_provider import browser_like, oidc_provider

__all__ = ["browser_like", "oidc_provider"]
