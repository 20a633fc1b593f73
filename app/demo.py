"""`cercle demo`: a believable community for a fictional coffee-roaster brand.

Everything goes through the services (so counters, search and notifications are what the
forum itself makes), then timestamps are spread over the last months so the home page,
unread marks and, later, the KPIs have a history to show.
"""

import os
import random
from datetime import timedelta

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from app import permissions
from app.analytics import rollup
from app.models import Circle, Membership, Post, Pulse, Reaction, Thread, User, Visit, utcnow
from app.services import accounts, ambassadors, badges, circles, invites, memberships, posts, site, threads

FIRST = ["Camille", "Léa", "Hugo", "Chloé", "Lucas", "Manon", "Louis", "Inès", "Jules", "Emma",
         "Nathan", "Sarah", "Théo", "Zoé", "Arthur", "Alice", "Paul", "Jade", "Victor", "Lina",
         "Sam", "Nina", "Tom", "Eva", "Noah", "Rose", "Adam", "Mila", "Enzo", "Anna"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux"]

CIRCLES = [
    ("espresso-lab", "Espresso Lab", "open", "Dial in your shots, share recipes and grinder settings. **All levels welcome.**"),
    ("slow-coffee", "Slow Coffee", "open", "V60, Chemex, AeroPress: the gentle art of filter coffee."),
    ("latte-art", "Latte Art Club", "open", "Hearts, tulips, rosettas — post your progress, get friendly tips."),
    ("home-roasters", "Home Roasters", "closed", "For members who roast at home. Ask to join and tell us about your setup."),
    ("cafe-owners", "Café Owners", "closed", "A trusted circle for owners and baristas running a café."),
    ("founders-circle", "Founders' Circle", "secret", "Our most engaged members, co-designing next season's blends with the team."),
]

THREADS = [
    ("Which grinder for a first espresso setup?", "I have a budget of about 300 €. Flat or conical burrs? What would you choose today?"),
    ("My shots run too fast — help!", "18 g in, 36 g out in **15 seconds**. Grinding finer makes it choke. Ideas?"),
    ("Water recipe that changed everything", "I switched to a simple mineral recipe and my Ethiopian tastes like peaches now. Recipe inside:\n\n- 1 L distilled\n- 0.1 g magnesium sulfate"),
    ("Share your morning ritual", "Tell us how you make your first cup of the day ☕"),
    ("Tulip finally came out symmetrical", "After three weeks of practice! The trick was pouring closer to the surface."),
    ("Light roast in a moka pot?", "Has anyone had success with light roasts in a moka pot? Mine taste sour."),
    ("Storing beans: freezer or not?", "I buy 1 kg at a time. Does freezing in small jars really keep them fresh?"),
    ("First crack timing on a popcorn machine", "I hit first crack at 4:30. Is that too fast for an even roast?"),
    ("Seasonal menu ideas for winter", "What are your best-selling winter drinks? Thinking of a spiced filter special."),
    ("Feedback wanted: the new Kayon blend", "We'd love your honest notes on the tasting samples — what would you change?"),
]

REPLIES = [
    "Great question! I had the same problem last month.",
    "Try grinding two clicks finer and keep the dose the same. @{mention} knows this better than me though.",
    "I second this — it made a real difference for me.",
    "Thanks for sharing, bookmarking this thread.",
    "Here is what worked for me: *pre-infuse for 5 seconds* and watch the first drops.",
    "Welcome to the circle! You'll get plenty of help here.",
    "Interesting. Has anyone compared this with a conical burr?",
    "I tried it this morning and it works. Merci !",
    "Careful with that — it can make the cup flat. Taste side by side first.",
    "Photos please! We want to see it 😄",
]


def database_is_empty(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(User)).one() == 0


def _backdate_thread(session: Session, thread: Thread, start_days_ago: float) -> None:
    """Spreads a thread's posts from `start_days_ago` until now, in order."""
    now = utcnow()
    start = now - timedelta(days=start_days_ago)
    rows = session.exec(select(Post).where(Post.thread_id == thread.id).order_by(col(Post.number))).all()
    step = (now - start) / max(len(rows), 1)
    when = start
    for index, post in enumerate(rows):
        when = start + step * index + timedelta(minutes=random.randint(0, 90))
        post.created_at = when
        session.add(post)
    thread.created_at = rows[0].created_at if rows else start
    thread.last_post_at = when
    session.add(thread)
    session.exec(update(Reaction).where(col(Reaction.post_id).in_([p.id for p in rows])).values(created_at=when))


def _seed_recognition(session: Session, *, admin: User, people: list[User], host_of: dict[int | None, User],
                      made: list[Circle], progress: Progress) -> None:
    """Visits over two months, badges, ambassadors and pulse answers."""
    task = progress.add_task("Recognition", total=4)
    today = utcnow().date()
    for person in people:
        for days_ago in random.sample(range(1, 60), k=random.randint(3, 30)):
            session.add(Visit(user_id=person.id, day=today - timedelta(days=days_ago), scope=0))  # type: ignore[arg-type]
    session.commit()
    progress.advance(task)
    badges.recompute(session)
    progress.advance(task)
    barista = badges.create_badge(session, by=admin, name="Barista of the Month", tier="gold", icon="coffee",
                                  description="Chosen by the hosts for outstanding help in a circle.")
    kind = badges.create_badge(session, by=admin, name="Kind Words", tier="bronze", icon="heart",
                               description="Always welcoming to newcomers.")
    for circle in made[:3]:
        member_ids = session.exec(
            select(Membership.user_id).where(Membership.circle_id == circle.id, Membership.state == "active",
                                             Membership.role == "member")
        ).all()
        if member_ids:
            chosen = session.get(User, random.choice(member_ids))
            assert chosen is not None
            badges.award_manual(session, badge=random.choice([barista, kind]), user=chosen, by=host_of[circle.id],
                                reason="Answered every grinder question this month with patience.", circle=circle)
    progress.advance(task)
    for person in people[4:7]:
        ambassadors.grant(session, member=person, by=admin,
                          reason="Helps newcomers every week and brought friends to the circles.")
    for person in people[5:30]:
        answer = Pulse(user_id=person.id, score=random.choice([10, 9, 9, 8, 7, 10, 6, 9, 4]),  # type: ignore[arg-type]
                       comment=random.choice(["", "Love the Espresso Lab!", "More tasting events please.",
                                              "The hosts are great.", ""]),
                       created_at=utcnow() - timedelta(days=random.randint(1, 150)))
        session.add(answer)
    session.commit()
    progress.advance(task)


def seed_demo(session: Session, *, members: int = 40, console: Console | None = None) -> None:
    random.seed(20261127)
    password = os.environ.get("CERCLE_DEMO_PASSWORD", "cercle-demo")
    site.update(session, name="Kayon Coffee Circles",
                description="The community of Kayon Coffee Roasters: small circles where coffee lovers help each other.",
                accent_colour="#8a4b2a")
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("Members", total=members + 1)
        admin = accounts.create_admin(session, username="admin", email="admin@example.com", password=password)
        admin.display_name = "Kayon Team"
        progress.advance(task)
        people: list[User] = []
        for index in range(members):
            first, last = FIRST[index % len(FIRST)], LAST[(index * 7) % len(LAST)]
            username = f"{first.lower().replace('é', 'e').replace('è', 'e').replace('ï', 'i')}_{last.lower()}"[:30]
            user = accounts.register_user(session, username=username, email=f"{username}@example.com",
                                          password=password, display_name=f"{first} {last}")
            user.created_at = utcnow() - timedelta(days=random.randint(20, 240))
            session.add(user)
            people.append(user)
            progress.advance(task)
        session.commit()

        task = progress.add_task("Circles", total=len(CIRCLES))
        made: list[Circle] = []
        for slug, name, visibility, description in CIRCLES:
            circle = circles.create_circle(session, by=admin, slug=slug, name=name,
                                           description=description, visibility=visibility)
            made.append(circle)
            progress.advance(task)
        hosts = people[:4]
        host_of = {circle.id: hosts[index % len(hosts)] for index, circle in enumerate(made)}
        for circle in made:
            memberships.set_host(session, circle=circle, user=host_of[circle.id], host=True, by=admin)
        for person in people[4:]:
            for circle in random.sample(made[:5], k=random.randint(1, 3)):
                if circle.visibility == "open":
                    memberships.join(session, circle=circle, user=person)
                elif random.random() < 0.7:
                    invite = invites.create_invite(session, by=host_of[circle.id], circle=circle)
                    invites.accept_invite(session, invite=invite, user=person)
                else:
                    memberships.request_to_join(session, circle=circle, user=person,
                                                message="I'd love to join — I roast on a Gene Café at home.")
        secret = made[-1]
        for person in people[4:12]:
            invite = invites.create_invite(session, by=host_of[secret.id], circle=secret, max_uses=1)
            invites.accept_invite(session, invite=invite, user=person)
        # Join dates spread over the past months, as in a community that grew.
        for membership in session.exec(select(Membership).where(Membership.state == "active")).all():
            membership.joined_at = utcnow() - timedelta(days=random.randint(15, 200))
            session.add(membership)
        session.commit()

        task = progress.add_task("Conversations", total=len(THREADS) * 2)
        for round_index in range(2):
            for title, body in THREADS:
                circle = random.choice(made)
                authors = session.exec(
                    select(User).join(Membership, col(Membership.user_id) == User.id)
                    .where(Membership.circle_id == circle.id, Membership.state == "active")
                ).all()
                if len(authors) < 3:
                    progress.advance(task)
                    continue
                author = random.choice(authors)
                thread = threads.create_thread(session, circle=circle, author=author,
                                               title=title if round_index == 0 else f"{title} (part 2)", body=body)
                access_cache: dict[int | None, permissions.CircleAccess] = {}
                previous: Post | None = None
                for _ in range(random.randint(2, 12)):
                    replier = random.choice(authors)
                    access = access_cache.get(replier.id) or permissions.circle_access(session, replier, circle)
                    access_cache[replier.id] = access
                    text = random.choice(REPLIES).format(mention=random.choice(authors).username)
                    reply_to = previous.id if previous is not None and random.random() < 0.3 else None
                    previous = posts.reply(session, thread=thread, access=access, author=replier, body=text,
                                           reply_to_id=reply_to)
                    for reactor in random.sample(authors, k=min(len(authors), random.randint(0, 4))):
                        if reactor.id != previous.author_id:
                            reactor_access = permissions.circle_access(session, reactor, circle)
                            posts.toggle_reaction(session, post=previous, access=reactor_access, user=reactor,
                                                  kind=random.choice(["like", "helpful", "thanks"]))
                _backdate_thread(session, thread, start_days_ago=random.uniform(1, 60))
                session.commit()
                progress.advance(task)
        invites.create_invite(session, by=admin, circle=None, max_uses=50, note="Newsletter readers")
        _seed_recognition(session, admin=admin, people=people, host_of=host_of, made=made, progress=progress)
    # The back-dating above rewrites timestamps in bulk, past the ORM hooks: rebuild the rollup.
    rollup.rebuild(session.connection())
    session.commit()
    if console:
        console.print(f"[green]Demo community ready:[/green] admin / {password}, and {members} members "
                      f"(e.g. {people[4].username} / {password}).")
