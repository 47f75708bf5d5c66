"""Great-circle distance in statute miles."""

from __future__ import annotations

import math

EARTH_RADIUS_MILES = 3958.7613


def valid_point(latitude: float | None, longitude: float | None) -> bool:
    if latitude is None or longitude is None:
        return False
    if math.isnan(latitude) or math.isnan(longitude):
        return False
    return -90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    return haversine_radians(phi1, math.radians(lon1), math.cos(phi1), phi2, math.radians(lon2))


def haversine_radians(
    phi1: float, lambda1: float, cos_phi1: float, phi2: float, lambda2: float
) -> float:
    """Same formula on precomputed radians: the nearest-location scan runs it per location."""
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + cos_phi1 * math.cos(phi2) * math.sin((lambda2 - lambda1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))
