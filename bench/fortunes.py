"""The ceiling: TechEmpower's "Fortunes" on the same stack, database and server settings.

One SQL query of a dozen rows, one row added in memory, a sort, a small Jinja template.
`bench/web.py` serves it beside Cercle and reports every page as a ratio to it.
"""

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from sqlalchemy import text

from app.db import get_engine

TEMPLATE = Environment(autoescape=True).from_string(
    "<!doctype html><html><head><title>Fortunes</title></head><body><table>"
    "<tr><th>id</th><th>message</th></tr>"
    "{% for id, message in rows %}<tr><td>{{ id }}</td><td>{{ message }}</td></tr>{% endfor %}"
    "</table></body></html>"
)

MESSAGES = [
    "fortune: No such file or directory",
    "A computer scientist is someone who fixes things that aren't broken.",
    "After enough decimal places, nobody gives a damn.",
    "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    "A computer program does what you tell it to do, not what you want it to do.",
    "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
    "Any program that runs right is obsolete.",
    "A list is only as strong as its weakest link. — Donald Knuth",
    "Feature: A bug with seniority.",
    "Computers make very fast, very accurate mistakes.",
    '<script>alert("This should not be displayed in a browser alert box.");</script>',
    "フレームワークのベンチマーク",
]


def create_table() -> None:
    with get_engine().begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)"))
        conn.execute(text("DELETE FROM bench_fortune"))
        for index, message in enumerate(MESSAGES, start=1):
            conn.execute(text("INSERT INTO bench_fortune (id, message) VALUES (:id, :m)"), {"id": index, "m": message})


app = FastAPI()


@app.get("/fortunes")
def fortunes() -> HTMLResponse:
    with get_engine().connect() as conn:
        rows = [(row[0], row[1]) for row in conn.execute(text("SELECT id, message FROM bench_fortune"))]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda row: row[1])
    return HTMLResponse(TEMPLATE.render(rows=rows))
