"""Dependency aliases of the gateway's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.backends import Backends
from services.gateway.catalog_client import CatalogClient
from services.gateway.settings import GatewaySettings

__all__ = ["CatalogDep", "NatsDep", "SettingsDep"]


def _catalog(request: Request) -> CatalogClient:
    return request.app.state.catalog


def _settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


def _backends(request: Request) -> Backends:
    return request.app.state.backends


CatalogDep = Annotated[CatalogClient, Depends(_catalog)]
SettingsDep = Annotated[GatewaySettings, Depends(_settings)]
NatsDep = Annotated[Backends, Depends(_backends)]
