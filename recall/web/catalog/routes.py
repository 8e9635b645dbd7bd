"""Providers and services. Everyone reads them; managers keep them."""

from __future__ import annotations

from typing import Any

from recall.clinic import catalog
from recall.queue import service_edits
from recall.web.auth import any_staff, manager_only
from recall.web.catalog.schemas import (
    CatalogListArgs,
    ProviderCreateSchema,
    ProviderSchema,
    ProviderUpdateSchema,
    ServiceCreateSchema,
    ServiceSchema,
    ServiceUpdateSchema,
)
from recall.web.common import actor, clock, page_of, page_schema, session
from recall.web.contract import Blueprint

blp = Blueprint("catalog", __name__, description="Providers (doctors) and services (visit types)")


@blp.route("/providers", methods=["GET"])
@any_staff
@blp.arguments(CatalogListArgs, location="query")
@blp.response(200, page_schema(ProviderSchema))
def list_providers(args: dict[str, Any]) -> Any:
    return page_of(catalog.list_providers(actor().clinic_id, args.get("active")), args)


@blp.route("/providers", methods=["POST"])
@manager_only
@blp.arguments(ProviderCreateSchema)
@blp.response(201, ProviderSchema)
def create_provider(data: dict[str, Any]) -> Any:
    return catalog.create_provider(session(), clock(), actor(), data)


@blp.route("/providers/<int:provider_id>", methods=["GET"])
@any_staff
@blp.response(200, ProviderSchema)
def get_provider(provider_id: int) -> Any:
    return catalog.get_provider(session(), actor().clinic_id, provider_id)


@blp.route("/providers/<int:provider_id>", methods=["PATCH"])
@manager_only
@blp.arguments(ProviderUpdateSchema)
@blp.response(200, ProviderSchema)
def update_provider(data: dict[str, Any], provider_id: int) -> Any:
    return catalog.update_provider(session(), actor(), provider_id, data)


@blp.route("/services", methods=["GET"])
@any_staff
@blp.arguments(CatalogListArgs, location="query")
@blp.response(200, page_schema(ServiceSchema))
def list_services(args: dict[str, Any]) -> Any:
    return page_of(catalog.list_services(actor().clinic_id, args.get("active")), args)


@blp.route("/services", methods=["POST"])
@manager_only
@blp.arguments(ServiceCreateSchema)
@blp.response(201, ServiceSchema)
def create_service(data: dict[str, Any]) -> Any:
    return catalog.create_service(session(), clock(), actor(), data)


@blp.route("/services/<int:service_id>", methods=["GET"])
@any_staff
@blp.response(200, ServiceSchema)
def get_service(service_id: int) -> Any:
    return catalog.get_service(session(), actor().clinic_id, service_id)


@blp.route("/services/<int:service_id>", methods=["PATCH"])
@manager_only
@blp.arguments(ServiceUpdateSchema)
@blp.response(200, ServiceSchema)
def update_service(data: dict[str, Any], service_id: int) -> Any:
    return service_edits.update_service(session(), actor(), service_id, data)
