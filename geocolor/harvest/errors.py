"""Errors of the harvest stage; all are ``GeocolorError`` so the CLI prints them as one line."""

from __future__ import annotations

from geocolor.errors import GeocolorError, InputError


class HarvestError(GeocolorError):
    """Harvesting cannot go on (unreadable capabilities, nothing to fetch, ...)."""


class CapabilitiesError(HarvestError, ValueError):
    """The capabilities cannot be read, or a layer / TMS / zoom / format asked for is not in them."""


class EmptyAOIError(HarvestError, InputError):
    """The AOI does not intersect any tile of the chosen layer at the chosen zoom."""


class FetchError(HarvestError, OSError):
    """A request failed for good: retries exhausted, or a status that must not be retried."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
