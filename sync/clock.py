"""Device clocks lie, sometimes by years. Estimate each device's offset when it pushes, correct what it claims,
and flag what cannot be trusted. Ordering decisions use corrected times; the claim itself is kept as data.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Below this, a difference is network delay or ordinary drift, not a wrong clock.
SKEW_TOLERANCE = timedelta(minutes=2)


@dataclass(frozen=True)
class ClockReading:
    """What the server learned about a device's clock from one push."""

    offset: timedelta  # add to a device time to get server time
    skewed: bool

    @classmethod
    def estimate(cls, server_now: datetime, device_now: datetime | None) -> ClockReading:
        """Compare the device's clock at push time with ours. No reading means no correction."""
        if device_now is None:
            return cls(timedelta(0), False)
        offset = server_now - device_now
        return cls(offset, abs(offset) > SKEW_TOLERANCE)


@dataclass(frozen=True)
class CorrectedTime:
    at: datetime
    flags: tuple[str, ...]


def correct(claimed: datetime, clock: ClockReading, *, server_now: datetime,
            not_before: datetime | None = None) -> CorrectedTime:
    """The server's best estimate of when something happened, with flags for a reviewer."""
    flags: list[str] = []
    at = claimed
    if clock.skewed:
        at = claimed + clock.offset
        flags.append("clock_skew")
    if at > server_now + SKEW_TOLERANCE:
        # A record "from the future" would sort above everything for ever: pin it to its arrival.
        flags.append("future")
        at = server_now
    if not_before is not None and at < not_before:
        flags.append("before_campaign")
    return CorrectedTime(at, tuple(flags))
