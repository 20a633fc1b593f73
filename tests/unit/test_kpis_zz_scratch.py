from tests.unit.test_kpis_builders import *


def test_scratch(db):
    admin = user(db, "admin", admin=True)
    a = user(db, "alice")
    b = user(db, "bob", created="03-02")
    c = circle(db, "coffee", by=admin)
    member(db, a, c)
    member(db, b, c, joined="03-02")
    t = thread(db, c, a, at("03-02"))
    p = post(db, t, b, at("03-03"))
    react(db, p, a, at("03-04"))
    visit(db, a, "03-05")
    visit(db, b, "03-05", c)
    pulse(db, a, 9, at("03-05"))
    import json
    print(json.dumps(kpis(db), indent=1, default=str)[:3000])
    print(json.dumps(kpis(db, where=c), indent=1, default=str)[:1500])


def test_scratch_page(client, db):
    from tests.factories import login, make_admin
    admin = make_admin(db)
    a = user(db, "alice")
    c = circle(db, "coffee", by=admin)
    member(db, a, c)
    t = thread(db, c, a, at("03-02"))
    db.commit()
    login(client, admin)
    r = client.get("/admin/kpis?start=2026-03-01&end=2026-03-10")
    print(r.status_code, r.text[:200])
    import pathlib; pathlib.Path("/tmp/scratch/page.html").write_text(r.text)
    r = client.get("/admin/kpis.csv?start=2026-03-01&end=2026-03-10&circle=coffee")
    print(r.status_code, r.text[:600])
    r = client.get("/api/v1/kpis?start=2026-03-01&end=2026-03-10&circle=coffee")
    print(r.status_code, r.text[:300])
    r = client.get("/api/v1/kpis?start=2026-03-01&end=2026-02-10")
    print(r.status_code, r.text[:300])
    r = client.get("/admin/kpis?days=7", headers={"HX-Request": "true"})
    print(r.status_code, r.text[:300])
