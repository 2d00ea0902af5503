"""The initiatives database: the searchable list with charts, one record, and country pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.initiatives import filters_of
from server.domain.content import THEMES
from server.domain.countries import REGIONS
from server.domain.errors import DomainError, NotFound
from server.domain.initiatives import STATUSES, VERIFICATIONS
from server.domain.streams import country_stream
from server.pages.charts import bar_chart
from server.pages.notifications import follow_level
from server.pages.rendering import html_errors, pages_of
from server.services import initiatives
from server.services.countries import countries
from server.services.events import stream_head


@html_errors
async def initiative_list(request: Request) -> Response:
    services = request.state.services
    try:
        filters = filters_of(request)
        error = None
    except DomainError as problem:
        filters, error = initiatives.InitiativeFilters(), problem.message
    rows, cursor, total = await initiatives.list_initiatives(
        services, filters=filters, cursor=request.query_params.get("cursor") or None, limit=50
    )
    stats = await initiatives.initiative_stats(services, filters=filters)
    regions = {region: stats["regions"].get(region, 0) for region in REGIONS}
    context = {
        "nav": "initiatives",
        "initiatives": rows,
        "total": total,
        "cursor": cursor,
        "filters": filters,
        "error": error,
        "choices": {
            "region": REGIONS,
            "theme": THEMES,
            "status": STATUSES,
            "verification": VERIFICATIONS,
        },
        "countries": sorted(countries().values(), key=lambda c: c.name),
        "region_chart": bar_chart("Initiatives by ITU-D region", regions),
        "month_chart": bar_chart("Initiatives by month announced", stats["months"]),
        "query": request.url.query,
    }
    return await pages_of(request).render(request, "initiatives.html", context)


@html_errors
async def initiative_page(request: Request) -> Response:
    record = await initiatives.load_initiative(
        request.state.services, initiative_id=int(request.path_params["id"])
    )
    return await pages_of(request).render(
        request, "initiative.html", {"nav": "initiatives", "initiative": record}
    )


@html_errors
async def country_page(request: Request) -> Response:
    services = request.state.services
    country = countries().get(request.path_params["cc"].upper())
    if country is None:
        raise NotFound("no such country")
    async with services.read() as session:
        head = await stream_head(session, stream=country_stream(country.code))
    rows = await initiatives.latest_of_country(services, country=country.code, limit=200)
    return await pages_of(request).render(
        request,
        "country.html",
        {
            "nav": "initiatives",
            "country": country,
            "initiatives": rows,
            "head": head,
            "follow_level": await follow_level(request, country_stream(country.code)),
        },
    )


routes = [
    Route("/initiatives", initiative_list, methods=["GET"]),
    Route("/initiatives/{id:int}", initiative_page, methods=["GET"]),
    Route("/countries/{cc}", country_page, methods=["GET"]),
]
