"""Writes a realistic Cercle dump of any size, fast and streamed (DUMP-FORMAT.md).

    python bench/generate.py --members 100000 --posts 1000000 --out bench/data/big.jsonl.gz

A coffee brand's community over the last ~400 days: it grows (more members and more
activity lately), activity follows a power law (a few very active members write most
posts), members churn, circles differ in size, threads get a long-tailed number of replies.
Around it: ~50 circles, posts/12 threads, 1.5 reactions per post, daily visits, invites,
badges and their awards, ambassador grants and pulse answers. Every line follows the
import rules. Random with a fixed seed; dates end today (UTC).
"""

import argparse
import gc
import gzip
import json
import math
import random
import sys
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import IO

DAY = 86_400
HISTORY_DAYS = 400
# One real argon2id hash (password "cercle-bench"): generated members can sign in.
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$cu59z1lLiRHC2JuzlrLWWg$a6VHgo4vJ135p9zE5E3z8PLfVscY2bpA96tZdIDRw44"

FIRST = [
    "Camille",
    "Léa",
    "Hugo",
    "Chloé",
    "Lucas",
    "Manon",
    "Louis",
    "Inès",
    "Jules",
    "Emma",
    "Nathan",
    "Sarah",
    "Théo",
    "Zoé",
    "Arthur",
    "Alice",
    "Paul",
    "Jade",
    "Victor",
    "Lina",
    "Sam",
    "Nina",
    "Tom",
    "Eva",
    "Noah",
    "Rose",
    "Adam",
    "Mila",
    "Enzo",
    "Anna",
    "Kenji",
    "Amara",
    "Diego",
    "Priya",
    "Olek",
    "Maya",
    "Idris",
    "Yuki",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Nakamura",
    "Okafor",
    "Rossi",
    "Silva",
    "Novak",
    "Kowalski",
    "Haddad",
    "Schmidt",
]
ASCII = str.maketrans("éèêëïîôöüç", "eeeeiioouc")

TOPICS = [
    "espresso",
    "filter",
    "latte-art",
    "roasting",
    "grinders",
    "water",
    "beans",
    "cafe",
    "cold-brew",
    "tea",
    "moka",
    "aeropress",
    "v60",
    "decaf",
    "origins",
    "milk",
    "equipment",
    "recipes",
    "travel",
    "events",
    "sustainability",
    "brewing",
    "tasting",
    "barista",
    "home-setup",
]
ADJECTIVES = [
    "Espresso",
    "Slow",
    "Latte",
    "Home",
    "Café",
    "Origin",
    "Brew",
    "Roast",
    "Grind",
    "Bean",
    "Crema",
    "Filter",
    "Cold",
    "Morning",
    "Tasting",
]
NOUNS = ["Lab", "Club", "Corner", "Circle", "Guild", "Collective", "Bar", "Workshop", "Society", "Room"]

SENTENCES = [
    "I tried grinding two clicks finer and the shot now runs in 28 seconds.",
    "The cup is much sweeter than last week.",
    "Has anyone compared this with a conical burr grinder?",
    "Great question, I had the same problem last month.",
    "I second this, it made a real difference for me.",
    "Thanks for sharing, bookmarking this thread.",
    "Welcome to the circle! You will get plenty of help here.",
    "Careful with that, it can make the cup flat. Taste side by side first.",
    "Photos please! We want to see it.",
    "My Ethiopian tastes like peaches with the new water recipe.",
    "Pre-infusion for five seconds changed everything.",
    "I switched to a lighter roast and had to raise the temperature to 94 degrees.",
    "What ratio do you use for a V60? I am at 1:16 at the moment.",
    "Freezing beans in small jars works well if you never thaw them twice.",
    "The new blend is lovely as a flat white, a bit thin as a straight espresso.",
    "First crack came at 9 minutes, a bit slow for my taste.",
    "I would not buy a grinder under 200 euros for espresso.",
    "Cold brew for 18 hours in the fridge, then dilute one to one.",
    "Tulip finally came out symmetrical after three weeks of practice.",
    "Pour closer to the surface and the milk will sit on top.",
    "Our café sells more filter coffee since we put a tasting card on the counter.",
    "Does anyone know a good roaster near Lyon?",
    "Honestly the moka pot is underrated, it just needs a low flame.",
    "Descaling every month keeps the machine happy.",
    "The decaf from the last box was surprisingly good.",
    "I weigh everything now, even the water. It is addictive.",
    "Same here, I think it is the beans and not the grinder.",
    "Could it be channeling? Try a distribution tool.",
    "The team is listening: we will add a lighter roast in the spring.",
    "Merci pour le conseil, je teste demain matin.",
    "Le café de ce matin était parfait, merci à tous.",
    "Je préfère la méthode douce, moins amère.",
    "Tried it this morning and it works!",
    "This thread should be pinned, so much good advice.",
    "My kids now ask for babyccinos every Sunday.",
    "I keep a notebook of every recipe, happy to share it.",
    "Grind size matters more than the brewer in my experience.",
    "Anyone going to the coffee festival in June?",
    "I finally understand what people mean by clarity in the cup.",
    "Milk at 60 degrees, never more, or it loses its sweetness.",
]
MARKDOWN = [
    "Here is my recipe:\n\n- 18 g in\n- 36 g out\n- 28 seconds\n\nWorks every time.",
    "**Tip:** rinse the paper filter with hot water first.",
    "The guide is here: [brewing basics](https://example.com/brewing) — very clear.",
    "Use `1:16` as a starting ratio, then adjust *by taste*.",
    "> Good coffee is a pleasure. Good friends are a treasure.\n\nSo true for this circle.",
    "1. Heat the water\n2. Bloom for 30 s\n3. Pour in three stages",
    "Water & beans matter more than gear, *always*.",
    "### My setup\n\nA hand grinder, a V60 and a kettle with a thermometer.",
]
TITLES = [
    "Which grinder for a first espresso setup?",
    "My shots run too fast",
    "Water recipe that changed everything",
    "Share your morning ritual",
    "Light roast in a moka pot?",
    "Storing beans: freezer or not?",
    "First crack timing",
    "Seasonal menu ideas",
    "Feedback wanted on the new blend",
    "Best milk for latte art",
    "Cold brew ratios",
    "Cleaning routine for an espresso machine",
    "Recommend a hand grinder",
    "Decaf that tastes like coffee?",
    "Travel brewing kit",
    "Tasting notes: washed vs natural",
    "How do you dial in a new bag?",
    "Café owners: pricing filter coffee",
    "Roast date: how fresh is too fresh?",
    "Introduce yourself!",
]
PULSE_COMMENTS = [
    "Love this community.",
    "More events please!",
    "The circles are great, search could be better.",
    "Friendly and helpful people.",
    "I would like more content from the roasters.",
    "Sometimes too quiet in my circle.",
    "Best coffee forum I know.",
]
MANUAL_BADGES = [
    ("founding-member", "Founding Member", "Was here from the very first weeks.", "gold"),
    ("recipe-master", "Recipe Master", "Shared recipes the whole circle uses.", "silver"),
    ("bug-hunter", "Bug Hunter", "Reported a problem that helped everyone.", "bronze"),
]
AUTOMATIC_BADGES = [
    ("first-post", "First Post", "Wrote a first post.", "bronze"),
    ("first-reply", "First Reply", "Answered someone for the first time.", "bronze"),
    ("helpful-5", "Helpful", "Received 5 “helpful” reactions.", "bronze"),
    ("helpful-25", "Very Helpful", "Received 25 “helpful” reactions.", "silver"),
    ("helpful-100", "Pillar", "Received 100 “helpful” reactions.", "gold"),
    ("recruiter-1", "Recruiter", "Invited someone who joined and posted.", "bronze"),
    ("regular", "Regular", "Active in 4 different weeks of the last 8.", "silver"),
    ("anniversary", "Anniversary", "A year in the community.", "gold"),
]


def esc(value: str) -> str:
    """A string's JSON form, without the quotes."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


class Clock:
    """Seconds since the start of the history ↔ the dump's text forms."""

    def __init__(self, today: date, days: int) -> None:
        self.start = today - timedelta(days=days)
        self.days = days
        self.now = days * DAY - 1  # the end of yesterday: nothing in the future
        self.minutes = [f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)]
        self.two_digits = [f"{n:02d}" for n in range(60)]
        self.day_text = [
            (self.start + timedelta(days=d)).isoformat() for d in range(days + 60)
        ]  # expiries may be later

    def stamp(self, seconds: int) -> str:
        day, rest = divmod(seconds, DAY)
        minute, second = divmod(rest, 60)
        return f"{self.day_text[day]}T{self.minutes[minute]}:{self.two_digits[second]}Z"


class Output:
    def __init__(self, path: str) -> None:
        if path == "-":
            self.stream: IO[bytes] = sys.stdout.buffer
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            gzipped = path.endswith(".gz")
            self.stream = gzip.open(path, "wb", compresslevel=1) if gzipped else open(path, "wb")  # noqa: SIM115
        self.lines: list[str] = []
        self.count = 0

    def add(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) >= 20_000:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            self.count += len(self.lines)
            self.stream.write(("\n".join(self.lines) + "\n").encode())
            self.lines = []

    def close(self) -> None:
        self.flush()
        if self.stream is not sys.stdout.buffer:
            self.stream.close()


class Pool:
    """People who may act in a place, weighted by how active they are, in the order they arrived."""

    def __init__(self) -> None:
        self.since: list[int] = []
        self.people: list[int] = []
        self.cumulative: list[float] = []

    def add(self, since: int, person: int, weight: float) -> None:
        self.since.append(since)
        self.people.append(person)
        self.cumulative.append((self.cumulative[-1] if self.cumulative else 0.0) + weight)

    def pick(self, at: int, rnd: Callable[[], float]) -> int | None:
        count = bisect_right(self.since, at)
        if not count:
            return None
        index = bisect_left(self.cumulative, rnd() * self.cumulative[count - 1], 0, count - 1)
        return self.people[index]


def sorted_pool(entries: list[tuple[int, int, float]]) -> Pool:
    pool = Pool()
    for since, person, weight in sorted(entries):
        pool.add(since, person, weight)
    return pool


class Generator:
    def __init__(self, members: int, posts: int, seed: int, today: date) -> None:
        self.members = max(members, 20)
        self.posts = max(posts, 20)
        self.threads = max(1, self.posts // 12)
        self.circles = max(3, min(50, self.members // 200))
        self.rng = random.Random(seed)
        self.clock = Clock(today, HISTORY_DAYS)
        self.sentences = [esc(s) for s in SENTENCES]
        self.markdown = [esc(s) for s in MARKDOWN]

    # --- people -------------------------------------------------------------------------

    def make_people(self) -> None:
        rng, clock, n = self.rng, self.clock, self.members
        horizon = clock.now - DAY
        # Joins grow linearly over time; a few founders come in the first two weeks.
        founders = max(3, n // 50)
        times = [rng.randrange(0, 14 * DAY) for _ in range(founders)]
        times += [int(horizon * math.sqrt(rng.random())) for _ in range(n - founders)]
        times.sort()
        self.created = [0] + times  # user ids start at 1
        # 80/20 activity; staff (ids 1-3) are busy.
        self.weight = [0.0] + [min(rng.paretovariate(1.2), 400.0) for _ in range(n)]
        for staff in (1, 2, 3):
            self.weight[staff] = 60.0
        self.active_until = [0] * (n + 1)
        for user in range(1, n + 1):
            lifetime = rng.expovariate(1 / (60 * DAY * (1 + self.weight[user])))
            self.active_until[user] = min(clock.now, self.created[user] + DAY + int(lifetime))
        self.deleted = {u for u in range(4, n + 1) if rng.random() < 0.01}
        for user in self.deleted:
            self.weight[user] = 0.0
        self.usernames = [""] + [self._username(u) for u in range(1, n + 1)]
        self.cumulative = list(accumulate(self.weight))

    def _username(self, user: int) -> str:
        if user in self.deleted:
            return f"deleted_{user}"
        if user == 1:
            return "admin"
        if user in (2, 3):
            return f"team_{user}"
        first = FIRST[(user * 7) % len(FIRST)].lower().translate(ASCII)
        last = LAST[(user * 2654435761 >> 9) % len(LAST)].lower().translate(ASCII)
        return f"{first}_{last}{user}"

    def pick_user(self, before: int, at: int) -> int:
        """An active person who arrived before `before` (by id), weighted by activity."""
        rng = self.rng
        for _ in range(4):
            user = bisect_left(self.cumulative, rng.random() * self.cumulative[before - 1], 1, before - 1)
            if self.weight[user] and self.active_until[user] >= at:
                return user
        return 1

    # --- circles, memberships, invites --------------------------------------------------

    def make_circles(self) -> None:
        rng, n = self.rng, self.circles
        self.circle_created = [0] + sorted(rng.randrange(0, 60 * DAY) for _ in range(n))
        self.circle_weight = [0.0] + [1 / (rank**0.8) for rank in range(1, n + 1)]
        self.visibility = [""] + [rng.choices(("open", "closed", "secret"), (6, 3, 1))[0] for _ in range(n)]
        self.visibility[1] = "open"
        self.circle_cumulative = list(accumulate(self.circle_weight))
        hosts_from = max(4, min(self.members, 1 + self.members // 20))
        candidates = [u for u in range(4, hosts_from + 1) if u not in self.deleted] or [1]
        # User 3 (the brand's community manager) hosts every circle, with one or two members each.
        self.hosts: list[list[int]] = [[]] + [
            sorted({3} | {rng.choice(candidates) for _ in range(rng.choice((1, 2)))}) for _ in range(n)
        ]

    def make_memberships(self) -> None:
        rng, clock = self.rng, self.clock
        self.memberships: list[tuple[int, int, str, int, int | None, int | None]] = []
        self.user_circles: list[list[tuple[int, int]]] = [[] for _ in range(self.members + 1)]
        pools: list[list[tuple[int, int, float]]] = [[] for _ in range(self.circles + 1)]
        self.invites: list[tuple[int | None, int, int, int | None, int | None]] = []
        self.user_invite: dict[int, int] = {}
        self.invited_by: dict[int, int] = {}
        host_of = {(host, c) for c in range(1, self.circles + 1) for host in self.hosts[c]}
        # Site invites: a quarter of the members were invited by someone already there.
        for user in range(5, self.members + 1):
            if rng.random() < 0.25:
                inviter = self.pick_user(user, self.created[user])
                if inviter != user:
                    made = max(self.created[inviter], self.created[user] - rng.randrange(60, 7 * DAY))
                    self.invites.append((None, inviter, made, made + 14 * DAY, rng.choice((1, 1, 5, None))))
                    self.user_invite[user] = len(self.invites)
                    self.invited_by[user] = inviter
        for user in range(1, self.members + 1):
            wanted = 1 + min(5, int(rng.expovariate(0.9)))
            chosen = {
                1 + bisect_left(self.circle_cumulative[1:], rng.random() * self.circle_cumulative[-1])
                for _ in range(wanted)
            }
            chosen.update(c for c in range(1, self.circles + 1) if user in self.hosts[c])
            if user <= 3:
                chosen = set(range(1, self.circles + 1))
            for circle in sorted(chosen):
                is_host = (user, circle) in host_of
                if is_host or user <= 3:
                    joined = self.circle_created[circle] + 60
                else:
                    joined = max(self.created[user], self.circle_created[circle]) + rng.randrange(60, 20 * DAY)
                joined = min(joined, clock.now - 3600)
                left = None
                if not is_host and user > 3 and rng.random() < 0.07:
                    left = joined + rng.randrange(3600, max(3601, clock.now - joined))
                invite = None
                if self.visibility[circle] != "open" and not is_host and user > 3 and rng.random() < 0.6:
                    by = rng.choice(self.hosts[circle]) if self.hosts[circle] else 1
                    made = max(self.circle_created[circle] + 60, joined - rng.randrange(60, 3 * DAY))
                    made = min(made, joined)
                    self.invites.append((circle, by, made, made + 7 * DAY, 1))
                    invite = len(self.invites)
                role = "host" if is_host else "member"
                self.memberships.append((user, circle, role, joined, left, invite))
                self.user_circles[user].append((joined // DAY + 1, circle))
                if left is None and user not in self.deleted:
                    pools[circle].append((joined, user, self.weight[user]))
        self.pools = [sorted_pool(entries) for entries in pools]

    # --- writing ------------------------------------------------------------------------

    def write(self, out: Output, report: Callable[[str], None]) -> None:
        stamp = self.clock.stamp
        out.add('{"type":"cercle-dump","version":1}')
        out.add(
            '{"type":"site","name":"Kayon Coffee Circles","description":"The community of Kayon Coffee '
            'Roasters: small circles where coffee lovers help each other.","registration":"open"}'
        )
        self.make_people()
        self.make_circles()
        self.make_memberships()
        self.write_users(out, stamp)
        report("users")
        for c in range(1, self.circles + 1):
            topic = TOPICS[(c - 1) % len(TOPICS)] + ("" if c <= len(TOPICS) else f"-{c}")
            name = f"{ADJECTIVES[c % len(ADJECTIVES)]} {NOUNS[c % len(NOUNS)]} {c}"
            out.add(
                f'{{"type":"circle","id":{c},"slug":"{topic}","name":"{esc(name)}","description":"A circle '
                f'about {topic.replace("-", " ")}. **Be kind** and share what you learn.","visibility":'
                f'"{self.visibility[c]}","created_at":"{stamp(self.circle_created[c])}","created_by":1}}'
            )
        for i, (circle, by, made, expires, max_uses) in enumerate(self.invites, 1):
            line = f'{{"type":"invite","id":{i},' + (f'"circle":{circle},' if circle else "")
            line += f'"created_by":{by},"created_at":"{stamp(made)}","expires_at":"{stamp(expires)}"'
            out.add(line + (f',"max_uses":{max_uses}}}' if max_uses else "}"))
        for user, circle, role, joined, left, invite in self.memberships:
            line = (
                f'{{"type":"membership","user":{user},"circle":{circle},"role":"{role}","joined_at":"{stamp(joined)}"'
            )
            if left is not None:
                line += f',"left_at":"{stamp(left)}"'
            out.add(line + (f',"invite":{invite}}}' if invite else "}"))
        report("circles, invites, memberships")
        self.write_threads_and_posts(out, stamp)
        report("threads, posts")
        self.write_reactions(out, stamp)
        report("reactions")
        self.write_visits(out)
        report("visits")
        self.write_recognition(out, stamp)
        report("badges, ambassadors, pulse")

    def write_users(self, out: Output, stamp: Callable[[int], str]) -> None:
        rng = self.rng
        for user in range(1, self.members + 1):
            name = self.usernames[user]
            created = stamp(self.created[user])
            if user in self.deleted:
                deleted = stamp(self.created[user] + rng.randrange(DAY, 30 * DAY))
                out.add(
                    f'{{"type":"user","id":{user},"username":"{name}","email":null,"created_at":"{created}",'
                    f'"is_admin":false,"deleted_at":"{deleted}"}}'
                )
                continue
            display = esc(f"{FIRST[(user * 7) % len(FIRST)]} {LAST[(user * 2654435761 >> 9) % len(LAST)]}")
            if user <= 3:
                display = "Kayon Team"
            line = (
                f'{{"type":"user","id":{user},"username":"{name}","email":"{name}@example.com",'
                f'"display_name":"{display}","created_at":"{created}","is_admin":{"true" if user <= 2 else "false"}'
            )
            if user <= 3 or rng.random() < 0.9:
                line += f',"password_hash":"{PASSWORD_HASH}"'
            if rng.random() < 0.1:
                line += ',"bio":"Coffee lover, ' + self.sentences[user % len(self.sentences)] + '"'
            if user in self.invited_by:
                line += f',"invited_by":{self.invited_by[user]},"invite":{self.user_invite[user]}'
            out.add(line + "}")

    def write_threads_and_posts(self, out: Output, stamp: Callable[[int], str]) -> None:
        rng, clock = self.rng, self.clock
        horizon = clock.now - 2 * DAY
        threads: list[tuple[int, int, int]] = []
        circle_cumulative = self.circle_cumulative
        while len(threads) < self.threads:
            at = int(horizon * rng.random() ** 0.4)
            circle = 1 + bisect_left(circle_cumulative[1:], rng.random() * circle_cumulative[-1])
            if at <= self.circle_created[circle] + 3600:
                continue
            author = self.pools[circle].pick(at, rng.random)
            if author is None or self.active_until[author] < at and rng.random() < 0.8:
                continue
            threads.append((at, circle, author))
        threads.sort()
        # Replies per thread: long-tailed, adding up to the posts asked for.
        mean = (self.posts - self.threads) / self.threads
        raw = [rng.lognormvariate(math.log(max(mean, 0.01)) - 0.5, 1.0) for _ in threads]
        scale = (self.posts - self.threads) / (sum(raw) or 1)
        replies = [int(r * scale) for r in raw]
        for _ in range(self.posts - self.threads - sum(replies)):
            replies[rng.randrange(len(replies))] += 1
        titles = [esc(t) for t in TITLES]
        for t, (at, circle, author) in enumerate(threads, 1):
            flags = ',"pinned":true' if rng.random() < 0.02 else ""
            flags += ',"locked":true' if rng.random() < 0.01 else ""
            flags += ',"hidden":true' if rng.random() < 0.005 else ""
            title = titles[rng.randrange(len(titles))]
            out.add(
                f'{{"type":"thread","id":{t},"circle":{circle},"author":{author},"title":"{title}",'
                f'"created_at":"{stamp(at)}"{flags}}}'
            )
        # Per post, what reactions need: time, author, circle.
        self.post_time: list[int] = [0]
        self.post_author: list[int] = [0]
        self.post_circle: list[int] = [0]
        self.first_post: dict[int, int] = {}
        self.first_reply: dict[int, int] = {}
        random_ = rng.random
        sentences, markdown = self.sentences, self.markdown
        post_id = 0
        for t, (at, circle, author) in enumerate(threads, 1):
            pool = self.pools[circle]
            post_id += 1
            thread_posts = [post_id]
            self._post(out, post_id, t, author, at, circle, self._body(random_, sentences, markdown, author), True)
            self.first_post.setdefault(author, at)
            count = replies[t - 1]
            gaps = [
                int(rng.lognormvariate(8.5, 1.3)) if k == 0 else int(rng.expovariate(1 / (4 * 3600 * (1 + k / 4))))
                for k in range(count)
            ]
            # A long thread opened lately would run past now: its replies come closer together
            # instead of piling up in the last seconds (which made a spike of tens of thousands
            # of posts on the last day).
            room = max(0, clock.now - at - count)
            squeeze = min(1.0, room / (sum(gaps) or 1))
            when = at
            for k in range(count):
                when = min(when + 1 + int(gaps[k] * squeeze), clock.now - (count - k))
                replier = pool.pick(when, random_) or author
                if self.active_until[replier] < when:
                    replier = pool.pick(when, random_) or author
                post_id += 1
                body = self._body(random_, sentences, markdown, replier)
                reply_to = thread_posts[int(random_() * len(thread_posts))] if random_() < 0.3 else 0
                self._post(out, post_id, t, replier, when, circle, body, False, reply_to)
                thread_posts.append(post_id)
                if replier not in self.first_post:
                    self.first_post[replier] = when
                if replier != author and replier not in self.first_reply:
                    self.first_reply[replier] = when

    def _body(self, random_: Callable[[], float], sentences: list[str], markdown: list[str], author: int) -> str:
        roll = random_()
        if roll < 0.07:
            return markdown[int(random_() * len(markdown))]
        count = 1 + int(random_() ** 2 * 6) if roll < 0.97 else 8 + int(random_() * 12)
        parts = [sentences[int(random_() * len(sentences))] for _ in range(count)]
        if count >= 3 and random_() < 0.5:
            parts[count // 2] = "\\n\\n" + parts[count // 2]
        body = " ".join(parts).replace(" \\n\\n", "\\n\\n")
        if roll > 0.9:
            other = 1 + int(random_() * (author or 1))
            if other not in self.deleted and other <= self.members:
                body = f"@{self.usernames[other]} {body}"
        return body

    def _post(
        self,
        out: Output,
        post_id: int,
        thread: int,
        author: int,
        at: int,
        circle: int,
        body: str,
        opening: bool,
        reply_to: int = 0,
    ) -> None:
        extra = f',"reply_to":{reply_to}' if reply_to else ""
        if not opening and self.rng.random() < 0.01:
            extra += ',"hidden":true'
        if self.rng.random() < 0.03:
            extra += f',"edited_at":"{self.clock.stamp(min(at + 600, self.clock.now))}"'
        out.add(
            f'{{"type":"post","id":{post_id},"thread":{thread},"author":{author},"body":"{body}",'
            f'"created_at":"{self.clock.stamp(at)}","opening":{"true" if opening else "false"}{extra}}}'
        )
        self.post_time.append(at)
        self.post_author.append(author)
        self.post_circle.append(circle)

    def write_reactions(self, out: Output, stamp: Callable[[int], str]) -> None:
        rng, now = self.rng, self.clock.now
        random_ = rng.random
        kinds = ("like", "like", "like", "like", "helpful", "helpful", "thanks")
        self.helpful: dict[int, list[int]] = {}
        for post in range(1, len(self.post_time)):
            count = int(rng.expovariate(0.5))
            if not count:
                continue
            at, author, pool = self.post_time[post], self.post_author[post], self.pools[self.post_circle[post]]
            done: set[tuple[int, str]] = set()
            for _ in range(count):
                when = at + 1 + int(rng.expovariate(1 / 28_800))
                if when > now:  # not yet given
                    continue
                user = pool.pick(when, random_)
                kind = kinds[int(random_() * 7)]
                if user is None or user == author or (user, kind) in done:
                    continue
                done.add((user, kind))
                out.add(
                    f'{{"type":"reaction","post":{post},"user":{user},"kind":"{kind}","created_at":"{stamp(when)}"}}'
                )
                if kind == "helpful":
                    self.helpful.setdefault(author, []).append(when)

    def write_visits(self, out: Output) -> None:
        rng, days = self.rng, self.clock.day_text
        mean_weight = sum(self.weight) / self.members
        today = self.clock.now // DAY
        for user in range(1, self.members + 1):
            if user in self.deleted:
                continue
            first, last = self.created[user] // DAY, min(today, self.active_until[user] // DAY)
            span = last - first + 1
            chance = min(0.9, 0.08 * self.weight[user] / mean_weight)
            count = min(span, max(1, int(rng.gauss(span * chance, math.sqrt(span * chance * (1 - chance)) + 0.01))))
            circles = self.user_circles[user]
            for d in sorted(rng.sample(range(first, last + 1), count)):
                out.add(f'{{"type":"visit","user":{user},"day":"{days[d]}"}}')
                if circles and rng.random() < 0.8:
                    joined = [circle for since, circle in circles if since <= d]
                    for circle in {rng.choice(joined) for _ in range(1 + (rng.random() < 0.25))} if joined else ():
                        out.add(f'{{"type":"visit","user":{user},"day":"{days[d]}","circle":{circle}}}')

    def write_recognition(self, out: Output, stamp: Callable[[int], str]) -> None:
        rng, now = self.rng, self.clock.now
        badges = AUTOMATIC_BADGES + MANUAL_BADGES
        for b, (slug, name, description, tier) in enumerate(badges, 1):
            automatic = "true" if b <= len(AUTOMATIC_BADGES) else "false"
            out.add(
                f'{{"type":"badge","id":{b},"slug":"{slug}","name":"{esc(name)}","description":'
                f'"{esc(description)}","tier":"{tier}","automatic":{automatic}}}'
            )
        index = {slug: b for b, (slug, *_rest) in enumerate(badges, 1)}

        def award(slug: str, user: int, at: int, by: int | None = None, reason: str = "") -> None:
            line = f'{{"type":"badge_award","badge":{index[slug]},"user":{user}'
            if by:
                line += f',"awarded_by":{by},"reason":"{esc(reason)}"'
            out.add(line + f',"created_at":"{stamp(min(at, now))}"}}')

        for user, at in sorted(self.first_post.items()):
            award("first-post", user, at + 1)
        for user, at in sorted(self.first_reply.items()):
            award("first-reply", user, at + 1)
        for user, times in sorted(self.helpful.items()):
            times.sort()
            for threshold, slug in ((5, "helpful-5"), (25, "helpful-25"), (100, "helpful-100")):
                if len(times) >= threshold:
                    award(slug, user, times[threshold - 1] + 1)
        recruited: dict[int, int] = {}
        for user, inviter in self.invited_by.items():
            if user in self.first_post and inviter not in self.deleted:
                recruited[inviter] = min(recruited.get(inviter, now), self.first_post[user])
        for user, at in sorted(recruited.items()):
            award("recruiter-1", user, at + 1)
        active = [
            u
            for u in range(1, self.members + 1)
            if self.active_until[u] >= now - 30 * DAY and u not in self.deleted and rng.random() < 0.3
        ]
        for user in active:
            award("regular", user, max(self.created[user] + DAY, now - rng.randrange(DAY, 50 * DAY)))
        for user in range(1, self.members + 1):
            if user not in self.deleted and self.created[user] + 365 * DAY < now:
                award("anniversary", user, self.created[user] + 365 * DAY)
        for slug, *_rest in MANUAL_BADGES:
            for user in sorted(rng.sample(range(4, self.members + 1), max(1, self.members // 300))):
                if user not in self.deleted:
                    award(slug, user, self.created[user] + rng.randrange(DAY, 60 * DAY), 1, "Thank you!")
        # Ambassadors: the most active non-staff members; some lose the role, some get it back.
        staff = {1, 2, 3} | {h for hosts in self.hosts for h in hosts}
        ranked = sorted(
            (u for u in range(4, self.members + 1) if u not in staff and u not in self.deleted),
            key=lambda u: -self.weight[u],
        )
        for user in ranked[: max(2, self.members // 200)]:
            at = min(now - DAY, self.created[user] + 30 * DAY + rng.randrange(0, 200 * DAY))
            if rng.random() < 0.15 and at + 2 * DAY < now:
                end = rng.randrange(at + DAY, now)
                out.add(
                    f'{{"type":"ambassador_grant","user":{user},"granted_by":1,"reason":"Always helpful.",'
                    f'"granted_at":"{stamp(at)}","revoked_at":"{stamp(end)}","revoked_by":1}}'
                )
                if rng.random() < 0.5 and end + DAY < now:
                    out.add(
                        f'{{"type":"ambassador_grant","user":{user},"granted_by":2,"reason":"Welcome back.",'
                        f'"granted_at":"{stamp(rng.randrange(end + 1, now))}"}}'
                    )
            else:
                out.add(
                    f'{{"type":"ambassador_grant","user":{user},"granted_by":1,"reason":"Always helpful.",'
                    f'"granted_at":"{stamp(at)}"}}'
                )
        comments = [esc(c) for c in PULSE_COMMENTS]
        for user in range(4, self.members + 1):
            if user in self.deleted or rng.random() > 0.15:
                continue
            for _ in range(1 + int(rng.random() ** 3 * 3)):
                at = rng.randrange(self.created[user], now)
                score = rng.choices(range(11), (2, 1, 1, 1, 2, 3, 4, 8, 14, 22, 20))[0]
                line = f'{{"type":"pulse","user":{user},"score":{score}'
                if rng.random() < 0.2:
                    line += f',"comment":"{comments[int(rng.random() * len(comments))]}"'
                out.add(line + f',"created_at":"{stamp(at)}"}}')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=datetime.now(UTC).date(),
        help="the last day of the history (default: today, UTC)",
    )
    parser.add_argument("--out", default="-", help="file (.gz compresses) or - for standard output")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    gc.disable()  # millions of small objects that live until the end: nothing to collect
    out = Output(args.out)

    def report(stage: str) -> None:
        print(
            f"  {stage}: {out.count + len(out.lines):,} lines, {time.perf_counter() - started:.1f} s", file=sys.stderr
        )

    Generator(args.members, args.posts, args.seed, args.today).write(out, report)
    out.close()
    print(f"{out.count:,} lines in {time.perf_counter() - started:.1f} s → {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
