"""No-shows with and without reminders: the manager's report, causal where the clinic holds bookings out.

The definitions, and why:

* The bookings counted are those whose visit (``start_at``) falls in the asked range of the clinic's local days.
  The no-show rate is no-shows / (attended + no-shows): only those two are outcomes of a visit. Cancelled
  bookings are not in the rate (a cancellation is no visit, and often what a reminder brings about: a freed
  slot instead of an empty chair); each group shows its ``cancelled`` beside the rate, and its cancellation
  share of all three. Bookings still booked or confirmed have no outcome yet and are left out.
* A reminder step counts as sent when an SMS or a voice call went out (``sent`` or ``delivered``: the provider
  took it), or a human call was handed to a person (``handed_over``). Skipped, failed and cancelled steps do not.
* With a holdout (any booking of the range has a side, ``Booking.holdout``), the two arms are the reminded
  bookings (held out: no) and the held-out ones, whatever was then sent to them (intention to treat): the
  comparison of the arms is causal. Bookings planned while no holdout was on have no side and are counted apart
  (``outside_holdout``). Without a holdout the groups are the bookings that got at least one step and those that
  got none: the patients who get no reminder differ (booked late, no consent, a wrong number), so that
  comparison is not causal, and the report says so.
* The breakdowns by channel and by step set the reminded bookings that got that channel or step against the same
  control (held-out, or not reminded). They are descriptive even with a holdout: which steps go out depends on the
  patient (a failed SMS, a confirmed visit), not on chance.
* Each rate has its Wilson 95 % interval; a difference is significant by the pooled two-proportion z-test,
  two-sided at 5 % (``recall.common.proportions``); whether the intervals overlap is shown too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from recall.clinic.clinics import Clinic
from recall.common.proportions import ZTest, two_proportion_z, wilson
from recall.reminders.planning import Channel
from recall.reminders.reminders import Reminder, ReminderStatus
from recall.visits.booking import Booking, BookingStatus

SENT = (ReminderStatus.SENT, ReminderStatus.DELIVERED, ReminderStatus.HANDED_OVER)
OUTCOMES = (BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED)
HOLDOUT, OBSERVATIONAL = "holdout", "observational"
REMINDED, HELD_OUT, NOT_REMINDED = "reminded", "held_out", "not_reminded"


@dataclass
class Group:
    """One group's bookings with an outcome, and its no-show rate with the Wilson interval."""

    section: str  # "arm", "channel" or "step"
    name: str  # reminded / held_out / not_reminded; a channel; a step as "<channel>@<minutes before>"
    attended: int = 0
    no_shows: int = 0
    cancelled: int = 0
    channel: str | None = None
    offset_minutes: int | None = None
    test: ZTest | None = None  # against the control; None for the control itself
    overlap: bool | None = None

    @property
    def bookings(self) -> int:
        return self.attended + self.no_shows

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.bookings if self.bookings else None

    @property
    def cancellation_rate(self) -> float | None:
        total = self.bookings + self.cancelled
        return self.cancelled / total if total else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.no_shows, self.bookings)

    def add(self, status: BookingStatus, count: int) -> None:
        if status is BookingStatus.ATTENDED:
            self.attended += count
        elif status is BookingStatus.NO_SHOW:
            self.no_shows += count
        else:
            self.cancelled += count

    def against(self, control: Group) -> None:
        self.test = two_proportion_z(self.no_shows, self.bookings, control.no_shows, control.bookings)
        mine, theirs = self.interval, control.interval
        self.overlap = None if mine is None or theirs is None else mine[0] <= theirs[1] and theirs[0] <= mine[1]


@dataclass
class NoShowReport:
    start: datetime
    end: datetime
    timezone: str
    mode: str  # HOLDOUT or OBSERVATIONAL
    holdout_percent: int
    treated: Group
    control: Group
    outside_holdout: int = 0  # bookings with an outcome planned while no holdout was on (holdout mode only)
    channels: list[Group] = field(default_factory=list)
    steps: list[Group] = field(default_factory=list)

    @property
    def causal(self) -> bool:
        return self.mode == HOLDOUT

    @property
    def verdict(self) -> str:
        """ "significant", "not_significant" (not yet: more bookings may tell) or "no_data" (an empty group)."""
        test = self.treated.test
        if test is None:
            return "no_data"
        return "significant" if test.significant else "not_significant"

    @property
    def finding(self) -> Finding:
        """What the statement says, as facts: for a reader that puts them in words of its own language."""
        test = self.treated.test
        return Finding(
            self.verdict,
            self.causal,
            _rate(self.treated),
            _rate(self.control),
            test.difference if test else None,
            test.p_value if test else None,
        )

    @property
    def statement(self) -> str:
        """The finding in one English sentence (the API's ``statement``)."""
        f = self.finding
        t, c = f.treated, f.control
        kind = "" if f.causal else " This comparison is not causal: without a holdout, the patients who get no "
        if not f.causal:
            kind += "reminder differ from the others; switch on reminder_holdout_percent to measure the effect."
        if f.difference is None or f.p_value is None:
            return f"Not enough data: {t.name} {t.bookings} and {c.name} {c.bookings} bookings with an outcome.{kind}"
        said = "is significant" if f.verdict == "significant" else "is not significant yet"
        return (
            f"No-show rate {t.name} {_pct(t)} against {c.name} {_pct(c)}: the difference of "
            f"{f.difference * 100:+.1f} points {said} (two-proportion z-test, p = {f.p_value:.3f}).{kind}"
        )


@dataclass(frozen=True)
class Rate:
    """One arm's no-show rate as the statement gives it."""

    name: str  # reminded, held_out or not_reminded
    bookings: int
    rate: float | None
    low: float | None  # the Wilson 95 % interval
    high: float | None


@dataclass(frozen=True)
class Finding:
    """The statement's facts: the verdict, whether the comparison is causal, both arms' rates, and the difference
    with its p-value (None, as the verdict no_data, while an arm has no booking with an outcome)."""

    verdict: str
    causal: bool
    treated: Rate
    control: Rate
    difference: float | None
    p_value: float | None


def _rate(g: Group) -> Rate:
    ci = g.interval
    return Rate(g.name, g.bookings, g.no_show_rate, ci[0] if ci else None, ci[1] if ci else None)


def _pct(r: Rate) -> str:
    if r.rate is None or r.low is None or r.high is None:
        return "n/a"
    return f"{r.rate * 100:.1f} % (95 % CI {r.low * 100:.1f}-{r.high * 100:.1f} %, n = {r.bookings})"


_FLAGS = tuple(Channel)


def no_show_report(session: Session, clinic: Clinic, start: datetime, end: datetime) -> NoShowReport:
    """The report over the bookings whose visit is in [start, end)."""
    in_range = (
        Booking.clinic_id == clinic.id,
        Booking.start_at >= start,
        Booking.start_at < end,
        Booking.status.in_(OUTCOMES),
    )
    counted = sa.select(Booking.id).where(*in_range)  # the reminders read are those of the counted bookings only
    sent = (
        sa.select(
            Reminder.booking_id,
            *(sa.func.max(sa.case((Reminder.channel == ch, 1), else_=0)).label(ch.value) for ch in _FLAGS),
        )
        .where(Reminder.booking_id.in_(counted), Reminder.status.in_(SENT))
        .group_by(Reminder.booking_id)
        .subquery()
    )
    flags = [sa.func.coalesce(sent.c[ch.value], 0) for ch in _FLAGS]
    rows = session.execute(
        sa.select(Booking.holdout, Booking.status, *flags, sa.func.count())
        .outerjoin(sent, sent.c.booking_id == Booking.id)
        .where(*in_range)
        .group_by(Booking.holdout, Booking.status, *flags)
    ).all()
    mode = HOLDOUT if any(r[0] is not None for r in rows) else OBSERVATIONAL
    treated = Group("arm", REMINDED)
    control = Group("arm", HELD_OUT if mode == HOLDOUT else NOT_REMINDED)
    channels = {ch: Group("channel", ch.value, channel=ch.value) for ch in _FLAGS}
    outside = 0
    for holdout, status, *got, count in rows:
        any_sent = any(got)
        if mode == HOLDOUT:
            if holdout is None:
                outside += count if status is not BookingStatus.CANCELLED else 0
                continue
            arm = control if holdout else treated
        else:
            arm = treated if any_sent else control
        arm.add(status, count)
        if arm is treated:
            for ch, flag in zip(_FLAGS, got, strict=True):
                if flag:
                    channels[ch].add(status, count)
    report = NoShowReport(
        start, end, clinic.timezone, mode, clinic.reminder_holdout_percent, treated, control, outside,
        channels=[g for g in channels.values() if g.bookings or g.cancelled],
        steps=_steps(session, in_range, mode),
    )  # fmt: skip
    for group in (treated, *report.channels, *report.steps):
        group.against(control)
    return report


def _steps(session: Session, in_range: tuple[sa.ColumnElement[bool], ...], mode: str) -> list[Group]:
    """The reminded bookings by the policy step that reached them (its channel and minutes before the visit)."""
    treated = Booking.holdout.is_(False) if mode == HOLDOUT else sa.true()
    step = (
        sa.select(Reminder.booking_id, Reminder.channel, Reminder.offset_minutes)
        .where(Reminder.booking_id.in_(sa.select(Booking.id).where(*in_range)), Reminder.status.in_(SENT))
        .distinct()
        .subquery()
    )
    rows = session.execute(
        sa.select(step.c.channel, step.c.offset_minutes, Booking.status, sa.func.count())
        .join(Booking, Booking.id == step.c.booking_id)
        .where(*in_range, treated)
        .group_by(step.c.channel, step.c.offset_minutes, Booking.status)
    ).all()
    groups: dict[tuple[str, int], Group] = {}
    for channel, offset, status, count in rows:
        key = (Channel(channel).value, int(offset))
        group = groups.setdefault(key, Group("step", f"{key[0]}@{key[1]}", channel=key[0], offset_minutes=key[1]))
        group.add(status, count)
    return [groups[k] for k in sorted(groups, key=lambda k: (-k[1], k[0]))]
