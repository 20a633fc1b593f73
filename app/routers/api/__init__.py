"""The JSON API under /api/v1: the same services and permissions as the pages."""

from app.routers.api import auth, circles, community, kpis, moderation, recognition, threads

API_ROUTERS = [auth.router, circles.router, threads.router, community.router, recognition.router, moderation.router, kpis.router]
