"""Which buyer persona buys which plan item, and when: rotation rules as one pure function.

Sellers notice regulators who buy the same way every time.  The rules: a persona does not buy
from the same seller again within ``lockout_days``; each persona buys at most
``persona_per_day`` times a day and ``persona_per_period`` times in any ``period_days`` window;
one seller receives at most ``seller_per_day`` covert orders a day from all personas together;
order dates are spread over the time available (least-loaded day first) and the time of day is
jittered inside a plausible shopping window.  The function touches no database, so the rules
are tested exhaustively, and the same inputs and seed give the same assignment.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class RotationRules:
    """Limits that keep covert buyers from being recognised (documented defaults)."""

    lockout_days: int = 90
    persona_per_day: int = 1
    persona_per_period: int = 4
    period_days: int = 30
    seller_per_day: int = 1
    #: Local hours in which orders are placed (a consumer's evening shopping, not 03:00).
    window_start_hour: int = 9
    window_end_hour: int = 22
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class Task:
    """A purchase to place on *platform_id* from *seller_id*, between two dates."""

    key: str
    platform_id: int
    seller_id: int | None
    earliest: dt.date
    deadline: dt.date


@dataclass(frozen=True)
class PastOrder:
    """An order a persona already placed (or was already scheduled to place)."""

    persona_id: int
    seller_id: int | None
    day: dt.date


@dataclass(frozen=True)
class Assignment:
    task_key: str
    persona_id: int | None
    scheduled_for: dt.datetime | None
    #: "" when assigned; otherwise why no persona could take it.
    reason: str = ""


class _Ledger:
    """Orders per persona and per seller, updated as tasks are assigned."""

    def __init__(self, history: Iterable[PastOrder]) -> None:
        self.persona_days: dict[int, Counter[dt.date]] = defaultdict(Counter)
        self.persona_seller_days: dict[tuple[int, int], list[dt.date]] = defaultdict(list)
        self.seller_days: dict[int, Counter[dt.date]] = defaultdict(Counter)
        self.platform_days: dict[int, Counter[dt.date]] = defaultdict(Counter)
        for order in history:
            self.add(order.persona_id, order.seller_id, order.day, None)

    def add(self, persona: int, seller: int | None, day: dt.date, platform: int | None) -> None:
        self.persona_days[persona][day] += 1
        if seller is not None:
            self.persona_seller_days[(persona, seller)].append(day)
            self.seller_days[seller][day] += 1
        if platform is not None:
            self.platform_days[platform][day] += 1

    def why_not(self, persona: int, seller: int | None, day: dt.date, r: RotationRules) -> str:
        """The first rule that forbids *persona* buying from *seller* on *day*, or ""."""
        days = self.persona_days[persona]
        for start in range(r.period_days):
            first = day - dt.timedelta(days=start)
            in_window = sum(n for d, n in days.items()
                            if first <= d < first + dt.timedelta(days=r.period_days))
            if in_window >= r.persona_per_period:
                return "persona_per_period"
        if days[day] >= r.persona_per_day:
            return "persona_per_day"
        if seller is not None:
            if self.seller_days[seller][day] >= r.seller_per_day:
                return "seller_per_day"
            for d in self.persona_seller_days[(persona, seller)]:
                if abs((day - d).days) < r.lockout_days:
                    return "lockout"
        return ""


def assign_personas(tasks: Iterable[Task], personas: Mapping[int, int],
                    history: Iterable[PastOrder] = (), rules: RotationRules | None = None,
                    seed: int = 0) -> list[Assignment]:
    """Assign a persona (id → platform id in *personas*) and an order time to every task.

    Tasks are taken earliest deadline first.  For each, the candidate days run from its
    earliest date to its deadline, least-loaded (on that platform) first, so orders spread
    out; among personas allowed that day the least-used in the period wins, ties broken by
    the seeded random generator.  A task no persona may take is returned with the reason
    the rules gave most often, and stays unassigned for a person to look at.
    """
    r = rules or RotationRules()
    if r.window_end_hour <= r.window_start_hour:
        raise ValueError("window_end_hour must be after window_start_hour")
    rng = random.Random(seed)
    tz = ZoneInfo(r.timezone)
    ledger = _Ledger(history)
    by_platform: dict[int, list[int]] = defaultdict(list)
    for pid, platform in sorted(personas.items()):
        by_platform[platform].append(pid)
    out: list[Assignment] = []
    for task in sorted(tasks, key=lambda t: (t.deadline, t.earliest, t.key)):
        candidates = by_platform.get(task.platform_id, [])
        if not candidates:
            out.append(Assignment(task.key, None, None, "no_persona_on_platform"))
            continue
        span = (task.deadline - task.earliest).days + 1
        if span <= 0:
            out.append(Assignment(task.key, None, None, "deadline_before_earliest"))
            continue
        days = [task.earliest + dt.timedelta(days=i) for i in range(span)]
        jitter = {d: rng.random() for d in days}
        load = ledger.platform_days[task.platform_id]
        days.sort(key=lambda d: (load[d], jitter[d]))
        refusals: Counter[str] = Counter()
        chosen: tuple[int, dt.date] | None = None
        for day in days:
            allowed = []
            for pid in candidates:
                reason = ledger.why_not(pid, task.seller_id, day, r)
                if reason:
                    refusals[reason] += 1
                else:
                    allowed.append(pid)
            if allowed:
                def period_load(pid: int, day: dt.date = day) -> int:
                    return sum(n for d, n in ledger.persona_days[pid].items()
                               if abs((d - day).days) < r.period_days)
                tie = {pid: rng.random() for pid in allowed}
                best = min(allowed, key=lambda pid: (period_load(pid), tie[pid]))
                chosen = (best, day)
                break
        if chosen is None:
            reason = refusals.most_common(1)[0][0] if refusals else "no_day"
            out.append(Assignment(task.key, None, None, reason))
            continue
        pid, day = chosen
        ledger.add(pid, task.seller_id, day, task.platform_id)
        minutes = rng.randrange((r.window_end_hour - r.window_start_hour) * 60)
        local = dt.datetime.combine(day, dt.time(r.window_start_hour), tzinfo=tz)
        local += dt.timedelta(minutes=minutes, seconds=rng.randrange(60))
        out.append(Assignment(task.key, pid, local.astimezone(dt.UTC)))
    return out


@dataclass(frozen=True)
class Breach:
    """Orders already on record (or scheduled) that together break one rotation rule.

    :func:`assign_personas` never makes such an assignment, but orders placed by hand, by an
    earlier version of the rules or imported from before (the demo's personas buying three
    times in one day) can: the rules shown to people are then flagged, not silently broken.
    """

    rule: str  # persona_per_day | persona_per_period | seller_per_day | lockout
    persona_id: int | None
    seller_id: int | None
    day: dt.date
    count: int
    limit: int
    keys: tuple[str, ...]


@dataclass(frozen=True)
class KeyedOrder:
    """A :class:`PastOrder` with the key of the purchase it belongs to."""

    key: str
    persona_id: int
    seller_id: int | None
    day: dt.date


def breaches(orders: Iterable[KeyedOrder], rules: RotationRules | None = None) -> list[Breach]:
    """Every rotation rule the recorded *orders* break, each group reported once."""
    r = rules or RotationRules()
    out: list[Breach] = []
    by_persona_day: dict[tuple[int, dt.date], list[str]] = defaultdict(list)
    by_seller_day: dict[tuple[int, dt.date], list[str]] = defaultdict(list)
    by_persona: dict[int, list[KeyedOrder]] = defaultdict(list)
    by_pair: dict[tuple[int, int], list[KeyedOrder]] = defaultdict(list)
    for o in orders:
        by_persona_day[(o.persona_id, o.day)].append(o.key)
        by_persona[o.persona_id].append(o)
        if o.seller_id is not None:
            by_seller_day[(o.seller_id, o.day)].append(o.key)
            by_pair[(o.persona_id, o.seller_id)].append(o)
    for (pid, day), keys in sorted(by_persona_day.items()):
        if len(keys) > r.persona_per_day:
            out.append(Breach("persona_per_day", pid, None, day, len(keys), r.persona_per_day,
                              tuple(sorted(keys))))
    for (sid, day), keys in sorted(by_seller_day.items()):
        if len(keys) > r.seller_per_day:
            out.append(Breach("seller_per_day", None, sid, day, len(keys), r.seller_per_day,
                              tuple(sorted(keys))))
    for pid, persona_orders in sorted(by_persona.items()):
        ordered = sorted(persona_orders, key=lambda o: (o.day, o.key))
        start, reported_until = 0, -1
        for end, o in enumerate(ordered):
            while (o.day - ordered[start].day).days >= r.period_days:
                start += 1
            if end - start + 1 > r.persona_per_period and end > reported_until:
                # the longest run inside one window, reported once
                last = end
                while (last + 1 < len(ordered)
                       and (ordered[last + 1].day - ordered[start].day).days < r.period_days):
                    last += 1
                window = ordered[start:last + 1]
                out.append(Breach("persona_per_period", pid, None, ordered[start].day,
                                  len(window), r.persona_per_period,
                                  tuple(w.key for w in window)))
                reported_until = last
    for (pid, sid), pair in sorted(by_pair.items()):
        ordered = sorted(pair, key=lambda o: (o.day, o.key))
        for a, b in itertools.pairwise(ordered):
            if (b.day - a.day).days < r.lockout_days:
                out.append(Breach("lockout", pid, sid, b.day, 2, 1, (a.key, b.key)))
    return out
