from __future__ import annotations

import dataclasses

import pytest

from app.scoring.core import LocationDef, decide
from app.scoring.geo import haversine_miles
from tests.scoring.practice import (
    LAT_A,
    LON_A,
    NAPERVILLE,
    PRACTICE,
    STREETERVILLE,
    coords,
    lead,
    practice,
)


@pytest.mark.parametrize(
    ("a", "b", "miles"),
    [
        ((40.7128, -74.0060), (34.0522, -118.2437), 2445.6),  # New York - Los Angeles
        ((41.8971, -87.6223), (41.7662, -88.1410), 28.19),  # 60611 - 60540
        ((41.8971, -87.6223), (41.8971, -87.6223), 0.0),
        ((0.0, 179.9), (0.0, -179.9), 13.82),  # across the antimeridian
    ],
)
def test_haversine_miles(a: tuple[float, float], b: tuple[float, float], miles: float) -> None:
    assert haversine_miles(*a, *b) == pytest.approx(miles, abs=0.5)


@pytest.mark.parametrize(
    ("zip_code", "location_id", "inside"),
    [
        ("60610", "loc-streeterville", True),  # Old Town, under a mile
        ("60614", "loc-streeterville", True),  # Lincoln Park
        ("60302", "loc-streeterville", True),  # Oak Park, about 9 miles
        ("60137", "loc-naperville", True),  # Glen Ellyn
        ("60563", "loc-naperville", True),
        ("60532", "loc-naperville", True),  # Lisle
        ("53202", "loc-streeterville", False),  # Milwaukee: nearest, but out of area
    ],
)
def test_nearest_location_offering_the_service(
    zip_code: str, location_id: str, inside: bool
) -> None:
    result = decide(lead(zip_code), PRACTICE)
    assert (result.location.location_id, result.location.method) == (location_id, "nearest")
    assert result.location.in_service_area is inside
    assert result.location.offers_service is True


def _ring_location(radius: float) -> LocationDef:
    return dataclasses.replace(STREETERVILLE, service_radius_miles=radius)


EDGE_LAT, EDGE_LON = LAT_A + 0.1, LON_A  # about 6.9 miles due north
EDGE = haversine_miles(EDGE_LAT, EDGE_LON, LAT_A, LON_A)


@pytest.mark.parametrize(
    ("radius", "inside"),
    [
        (EDGE, True),  # exactly at the radius is inside
        (EDGE + 0.001, True),
        (EDGE - 0.001, False),
        (0.0, False),
    ],
)
def test_service_radius_edge_is_inclusive(radius: float, inside: bool) -> None:
    facts = lead(latitude=EDGE_LAT, longitude=EDGE_LON, postal_code=None)
    result = decide(facts, practice(_ring_location(radius)))
    assert result.location.in_service_area is inside
    codes = [r.code for r in result.not_qualified_reasons]
    assert ("outside_service_area" in codes) is not inside


@pytest.mark.parametrize(
    ("zip_code", "inside"),
    [
        ("60610", True),
        ("60610-2207", True),
        ("60601", False),
        (None, None),
    ],
)
def test_zip_list_service_area(zip_code: str | None, inside: bool | None) -> None:
    loc = dataclasses.replace(
        STREETERVILLE, service_radius_miles=None, service_zips=("60610", "60614")
    )
    lat, lon = coords("60610")
    result = decide(lead(postal_code=zip_code, latitude=lat, longitude=lon), practice(loc))
    assert result.location.in_service_area is inside


def test_location_without_any_area_serves_everyone() -> None:
    loc = dataclasses.replace(STREETERVILLE, service_radius_miles=None)
    result = decide(lead("53202"), practice(loc))
    assert result.location.in_service_area is True
    assert result.location.distance_miles is not None and result.location.distance_miles > 70


@pytest.mark.parametrize(
    ("preferred", "location_id", "method"),
    [
        ("loc-naperville", "loc-naperville", "preferred"),
        ("  naperville ", "loc-naperville", "preferred"),
        ("NAPERVILLE", "loc-naperville", "preferred"),
        ("Evanston", "loc-streeterville", "nearest"),  # not a real location: ignored
        ("", "loc-streeterville", "nearest"),
    ],
)
def test_preferred_location_wins_when_it_is_real(
    preferred: str, location_id: str, method: str
) -> None:
    result = decide(lead("60610", preferred_location=preferred), PRACTICE)
    assert (result.location.location_id, result.location.method) == (location_id, method)


def test_farther_preferred_location_is_flagged_outside_its_area() -> None:
    result = decide(lead("60610", preferred_location="Naperville"), PRACTICE)
    assert result.location.distance_miles == pytest.approx(27.8, abs=0.1)
    assert [r.code for r in result.not_qualified_reasons] == ["outside_service_area"]


def test_preferred_location_without_the_service_is_flagged() -> None:
    sleep_only = dataclasses.replace(NAPERVILLE, services=("sleep-medicine",))
    facts = lead("60540", preferred_location="loc-naperville")
    result = decide(facts, practice(STREETERVILLE, sleep_only))
    assert (result.location.location_id, result.location.offers_service) == (
        "loc-naperville",
        False,
    )
    assert [r.code for r in result.not_qualified_reasons] == ["service_not_offered"]


def test_nearest_skips_locations_without_the_service() -> None:
    sleep_only = dataclasses.replace(NAPERVILLE, services=("sleep-medicine",))
    result = decide(lead("60540"), practice(STREETERVILLE, sleep_only))
    assert result.location.location_id == "loc-streeterville"


def test_location_covering_the_zip_beats_a_nearer_one_that_does_not() -> None:
    near = dataclasses.replace(STREETERVILLE, service_radius_miles=None, service_zips=("60611",))
    far = dataclasses.replace(NAPERVILLE, service_radius_miles=None, service_zips=("60610",))
    result = decide(lead("60610"), practice(near, far))
    assert (result.location.location_id, result.location.in_service_area) == (
        "loc-naperville",
        True,
    )


def test_unmatched_service_still_gets_the_nearest_location() -> None:
    result = decide(lead("60563", service_text="acne"), PRACTICE)
    assert (result.service.status, result.location.location_id) == ("unmatched", "loc-naperville")
    assert result.location.offers_service is None


@pytest.mark.parametrize(
    ("facts_zip", "lat", "lon", "location_id"),
    [
        ("60540", None, None, "loc-naperville"),  # no coordinates: the ZIP a location sits in
        (None, None, None, None),
        ("99999", None, None, None),
        ("60540", 200.0, 10.0, "loc-naperville"),  # impossible coordinates count as missing
    ],
)
def test_without_usable_coordinates(
    facts_zip: str | None, lat: float | None, lon: float | None, location_id: str | None
) -> None:
    result = decide(lead(None, postal_code=facts_zip, latitude=lat, longitude=lon), PRACTICE)
    assert result.location.location_id == location_id
    if location_id is None:
        assert [r.code for r in result.not_qualified_reasons] == ["no_location"]


def test_service_offered_nowhere() -> None:
    sleep_only = dataclasses.replace(STREETERVILLE, services=("sleep-medicine",))
    result = decide(lead("60610"), practice(sleep_only))
    assert (result.location.location_id, result.location.offers_service) == (None, False)
    assert [r.code for r in result.not_qualified_reasons] == ["service_not_offered"]
