"""HTML routers, one per domain. Thin: parse, call one service, render."""

from app.routers import accounts, admin, circles, community, kpis, moderation, pages, recognition, settings, threads

ROUTERS = [
    pages.router,
    accounts.router,
    settings.router,
    admin.router,
    circles.router,
    threads.router,
    community.router,
    recognition.router,
    moderation.router,
    kpis.router,
]
