"""Countries, and initiatives: publish, read, filter, edit, timeline, verification."""

from __future__ import annotations

from typing import get_args

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.auth import current_viewer
from server.api.parsing import path_int, query_int, read_body
from server.api.responses import JSONResponse
from server.api.schemas import EntryBody, InitiativeBody, InitiativeChangesBody, VerificationBody
from server.domain.accounts import Stakeholder
from server.domain.content import THEMES
from server.domain.countries import REGIONS
from server.domain.errors import invalid_field
from server.domain.initiatives import STATUSES, VERIFICATIONS
from server.services import initiatives
from server.services.countries import countries


async def list_countries(request: Request) -> Response:
    counts = await initiatives.country_counts(request.state.services)
    return JSONResponse(
        {
            "countries": [
                {
                    "code": country.code,
                    "name": country.name,
                    "region": country.region,
                    "initiatives": counts.get(country.code, 0),
                }
                for country in countries().values()
            ]
        }
    )


_CHOICES: dict[str, tuple[str, ...]] = {
    "region": REGIONS,
    "theme": THEMES,
    "stakeholder": get_args(Stakeholder),
    "status": STATUSES,
    "verification": VERIFICATIONS,
}


def filters_of(request: Request) -> initiatives.InitiativeFilters:
    chosen: dict[str, str | None] = {}
    for name, choices in _CHOICES.items():
        value = request.query_params.get(name) or None
        if value is not None and value not in choices:
            raise invalid_field(name, f"must be one of {', '.join(choices)}")
        chosen[name] = value
    q = request.query_params.get("q")
    return initiatives.InitiativeFilters(
        country=request.query_params.get("country") or None,
        q=q[:5000] if q and q.strip() else None,
        **chosen,
    )


async def list_initiatives(request: Request) -> Response:
    rows, cursor, total = await initiatives.list_initiatives(
        request.state.services,
        filters=filters_of(request),
        cursor=request.query_params.get("cursor") or None,
        limit=query_int(request, "limit", default=50, minimum=1, maximum=200),
    )
    return JSONResponse({"initiatives": rows, "cursor": cursor, "total": total})


async def create_initiative(request: Request) -> Response:
    viewer = await current_viewer(request)
    body = await read_body(request, InitiativeBody)
    values = initiatives.InitiativeFields(**{**body.model_dump(), "sources": tuple(body.sources)})
    created = await initiatives.create_initiative(
        request.state.services, viewer=viewer, values=values
    )
    return JSONResponse({"initiative": created}, status_code=201)


async def get_initiative(request: Request) -> Response:
    record = await initiatives.load_initiative(
        request.state.services, initiative_id=path_int(request, "id")
    )
    return JSONResponse({"initiative": record})


async def update_initiative(request: Request) -> Response:
    viewer = await current_viewer(request)
    body = await read_body(request, InitiativeChangesBody)
    changes = body.model_dump(exclude_unset=True, exclude={"kind", "note"})
    updated = await initiatives.update_initiative(
        request.state.services,
        viewer=viewer,
        initiative_id=path_int(request, "id"),
        changes=changes,
        kind=body.kind,
        note=body.note,
    )
    return JSONResponse({"initiative": updated})


async def add_entry(request: Request) -> Response:
    viewer = await current_viewer(request)
    body = await read_body(request, EntryBody)
    result = await initiatives.add_entry(
        request.state.services,
        viewer=viewer,
        initiative_id=path_int(request, "id"),
        kind=body.kind,
        note=body.note,
        effective_on=body.effective_on,
    )
    return JSONResponse(result, status_code=201)


async def set_verification(request: Request) -> Response:
    viewer = await current_viewer(request)
    body = await read_body(request, VerificationBody)
    result = await initiatives.set_verification(
        request.state.services,
        viewer=viewer,
        initiative_id=path_int(request, "id"),
        state=body.state,
        note=body.note,
    )
    return JSONResponse({"initiative": result})


routes = [
    Route("/api/countries", list_countries, methods=["GET"]),
    Route("/api/initiatives", list_initiatives, methods=["GET"]),
    Route("/api/initiatives", create_initiative, methods=["POST"]),
    Route("/api/initiatives/{id:int}", get_initiative, methods=["GET"]),
    Route("/api/initiatives/{id:int}", update_initiative, methods=["PATCH"]),
    Route("/api/initiatives/{id:int}/entries", add_entry, methods=["POST"]),
    Route("/api/initiatives/{id:int}/verification", set_verification, methods=["PUT"]),
]
