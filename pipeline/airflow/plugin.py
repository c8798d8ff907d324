"""The analyst's view inside Airflow 3: mounted at ``/newsmon`` with a "newsmon" navigation entry.

Registered through the ``airflow.plugins`` entry point (pyproject.toml). Airflow does not
authenticate plugin apps (a mounted app inherits none of the API's dependencies), so the view's
gate asks Airflow itself: the JWT of the logged-in UI user (cookie) or an ``Authorization: Bearer``
token, resolved by Airflow's auth manager; 401 without one, 403 for a user the auth manager does
not allow to see plugin views. One-click links from alerts stay reachable: their signature is
their authorisation.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

from pipeline.web.app import create_app

URL_PREFIX = "/newsmon"


async def airflow_user(request: Request) -> str | None:
    """The Airflow user making the request; HTTPException 401/403 otherwise."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user

    auth = request.headers.get("authorization", "")
    bearer = None
    if auth.lower().startswith("bearer "):
        bearer = HTTPAuthorizationCredentials(scheme="Bearer", credentials=auth[7:].strip())
    user: Any = await get_user(request, None, bearer)
    if not get_auth_manager().is_authorized_view(access_view=AccessView.PLUGINS, user=user):
        raise HTTPException(status_code=403, detail="this Airflow user may not open plugin views")
    return str(user.get_name())


class NewsmonPlugin(AirflowPlugin):
    """newsmon's view in the Airflow UI."""

    name = "newsmon"
    fastapi_apps = [  # noqa: RUF012 - Airflow reads these class attributes
        {"app": create_app(airflow_user), "url_prefix": URL_PREFIX, "name": "newsmon"}
    ]
    external_views = [  # noqa: RUF012 - Airflow reads these class attributes
        {
            "name": "newsmon",
            # Relative to the UI's base URL: the app this plugin mounts.
            "href": "newsmon/",
            "destination": "nav",
            "url_route": "newsmon",
            "category": "browse",
        }
    ]
