"""Rate limits hold when requests for the same key arrive at the same moment (both databases)."""

import threading
import time
from datetime import timedelta

from sqlmodel import func, select

from app import db as app_db
from app.errors import RateLimited
from app.models import RateEvent
from app.services import ratelimit

LIMIT = 2
REQUESTS = 6


def test_simultaneous_hits_on_one_key_never_pass_more_than_the_limit(db):
    db.commit()
    start = threading.Barrier(REQUESTS)
    passed: list[int] = []
    refused: list[int] = []
    failed: list[BaseException] = []

    def request(number: int) -> None:
        try:
            with app_db.open_session() as session:
                start.wait(timeout=10)
                try:
                    ratelimit.hit(session, "reply:42", limit=LIMIT, within=timedelta(minutes=10), message="slow down")
                except RateLimited:
                    refused.append(number)
                    session.rollback()
                    return
                time.sleep(0.2)  # the rest of the request's work, before its commit
                session.commit()
                passed.append(number)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failed.append(error)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failed == []
    assert len(passed) == LIMIT
    assert len(refused) == REQUESTS - LIMIT
    with app_db.open_session() as session:
        assert session.exec(select(func.count()).where(RateEvent.key == "reply:42")).one() == LIMIT
