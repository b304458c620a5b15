"""Regions, constituencies, wards and polling districts, as far as the caller's scope reaches."""
from __future__ import annotations

from server.api.common import blueprint, errors
from server.auth import Permission, authorize, current_principal
from server.models import Constituency, PollingDistrict, Region, Ward
from server.schemas import (
    ConstituencyArgsSchema,
    ConstituencySchema,
    PollingDistrictArgsSchema,
    PollingDistrictSchema,
    RegionSchema,
    WardArgsSchema,
    WardSchema,
)
from server.services import reads

blp = blueprint("geography", "", "Regions, constituencies, wards and polling districts")


@blp.route("/regions")
@authorize(Permission.GEOGRAPHY_READ)
@blp.response(200, RegionSchema(many=True))
def list_regions():
    """Regions in your scope."""
    return reads.list_regions(current_principal())


@blp.route("/regions/<int:region_id>")
@authorize(Permission.GEOGRAPHY_READ)
@blp.response(200, RegionSchema)
@errors(blp, 404)
def get_region(region_id: int):
    """One region."""
    return reads.get_scoped(current_principal(), Region, region_id)


@blp.route("/constituencies")
@authorize(Permission.GEOGRAPHY_READ)
@blp.arguments(ConstituencyArgsSchema, location="query")
@blp.response(200, ConstituencySchema(many=True))
def list_constituencies(args):
    """Constituencies (CLPs) in your scope."""
    return reads.list_constituencies(current_principal(), **args)


@blp.route("/constituencies/<int:constituency_id>")
@authorize(Permission.GEOGRAPHY_READ)
@blp.response(200, ConstituencySchema)
@errors(blp, 404)
def get_constituency(constituency_id: int):
    """One constituency."""
    return reads.get_scoped(current_principal(), Constituency, constituency_id)


@blp.route("/wards")
@authorize(Permission.GEOGRAPHY_READ)
@blp.arguments(WardArgsSchema, location="query")
@blp.response(200, WardSchema(many=True))
def list_wards(args):
    """Wards in your scope."""
    return reads.list_wards(current_principal(), **args)


@blp.route("/wards/<int:ward_id>")
@authorize(Permission.GEOGRAPHY_READ)
@blp.response(200, WardSchema)
@errors(blp, 404)
def get_ward(ward_id: int):
    """One ward."""
    return reads.get_scoped(current_principal(), Ward, ward_id)


@blp.route("/polling-districts")
@authorize(Permission.GEOGRAPHY_READ)
@blp.arguments(PollingDistrictArgsSchema, location="query")
@blp.response(200, PollingDistrictSchema(many=True))
def list_polling_districts(args):
    """Polling districts in your scope."""
    return reads.list_polling_districts(current_principal(), **args)


@blp.route("/polling-districts/<int:polling_district_id>")
@authorize(Permission.GEOGRAPHY_READ)
@blp.response(200, PollingDistrictSchema)
@errors(blp, 404)
def get_polling_district(polling_district_id: int):
    """One polling district."""
    return reads.get_scoped(current_principal(), PollingDistrict, polling_district_id)
