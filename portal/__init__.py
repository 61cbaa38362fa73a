"""Resident Success Portal."""

from portal.app import create_app

__all__ = ["create_app"]
