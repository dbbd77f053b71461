"""Fixtures for API tests over a running referral world."""

from tests.helpers.referral_fixtures import referral_api, world

__all__ = ["referral_api", "world"]
