"""The reminder policy as a document, and the pure planner that turns it into send times.

No database and no clock here: a policy, a booking and two instants go in, the
planned steps come out. Re-planning after a policy change or a moved booking is
calling ``plan_steps`` again, and the planner is tested without any fixture.
(``recall.reminder_policy`` stores, versions and validates the document.)

The planner's rules, and why:

* An offset is elapsed time: "48 h before" is 48 real hours, also across a DST
  change, so it is computed in UTC.
* Calling hours are wall-clock hours in the patient's zone, half-open
  [start, end): a clinic open "09:00-20:00" does not call at 20:00. Weekend
  hours apply when the patient's local date is a Saturday or Sunday.
* A step outside the hours moves to the last allowed moment before it: one
  minute before the window closes (``MOVE_MARGIN``, an instant strictly inside
  the window) on its own local day if it fell after the end, else on the day
  before. Moving only ever goes earlier, never past the visit.
* DST: a window may close early (the clock jumps over its end in spring) or
  close twice (an end inside the repeated hour in autumn). The candidate
  instants are checked against the wall clock, so a wall time that does not
  exist or happens twice is never guessed: a step never lands outside the hours.
* A step whose (moved) moment is before ``now`` is skipped as "too_late"; a step
  due exactly now still runs. A step the patient no longer needs because the
  visit is confirmed is skipped as "confirmed" (unless ``run_if_confirmed``).
* Steps keep the policy's order, earliest offset first. Moving is monotonic
  except within the last minute of a window, so send times are in order up to
  that minute; two steps may land on the same minute, and both are kept.
* In a surge a routine human call goes out as an automated voice call, and a
  routine step's human-call fallback becomes automated too (``automated``). A
  human call planned before the surge began is moved the same way when it falls
  due (``recall.reminders.hand_over``).
* At the moment of sending, a reminder outside the hours (a fallback, a retry,
  a worker that was down) waits for the next opening (``earliest_allowed``):
  later, since the moment it was planned for has passed, and only while that
  still makes sense for the visit (``makes_sense``, the rule the planner skips
  "after_start" by). Otherwise it is skipped.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from recall.clinic.patients import Language
from recall.common.clock import UTC
from recall.common.timeutil import format_hhmm, parse_hhmm
from recall.common.timeutil import zone as zone_info
from recall.reminders.templates import DEFAULT_TEMPLATES

MIN_OFFSET, MAX_OFFSET = 5, 30 * 24 * 60
MAX_STEPS = 10
MIN_RATE, MAX_RATE = 0.1, 100.0
MOVE_MARGIN = timedelta(minutes=1)  # a moved step lands this long before its window closes


class Channel(str, enum.Enum):
    SMS = "sms"
    VOICE = "voice"
    OPERATOR_CALL = "operator_call"
    FRONTDESK_CALL = "frontdesk_call"


class Fallback(str, enum.Enum):
    """What to do when a step fails for good (the number cannot take SMS, the call never connects)."""

    NONE = "none"
    SMS = "sms"
    VOICE = "voice"
    OPERATOR_CALL = "operator_call"


class OnMachine(str, enum.Enum):
    """What a voice call of the step does when an answering machine picks up: a machine is not the patient."""

    FALLBACK = "fallback"  # hang up; the call failed ("machine") and the step's fallback runs
    VOICEMAIL = "voicemail"  # leave a short message that says nothing sensitive: the clinic, "please call us"


HUMAN = frozenset({Channel.OPERATOR_CALL, Channel.FRONTDESK_CALL})
TEMPLATE_CHANNELS = (Channel.SMS.value, Channel.VOICE.value)


@dataclass(frozen=True)
class Step:
    offset_minutes: int
    channel: Channel
    run_if_confirmed: bool = False
    routine: bool = True  # a routine human call goes out as a voice call during a surge
    fallback: Fallback = Fallback.NONE
    on_machine: OnMachine = OnMachine.FALLBACK  # the step's voice call (itself or its fallback) meets a machine


@dataclass(frozen=True)
class Override:
    """Steps for one service or one provider (exactly one of the ids is set)."""

    steps: tuple[Step, ...]
    service_id: int | None = None
    provider_id: int | None = None


@dataclass(frozen=True)
class Hours:
    """Calling hours as minutes after local midnight, [start, end)."""

    weekday_start: int = 9 * 60
    weekday_end: int = 20 * 60
    weekend_start: int = 10 * 60
    weekend_end: int = 16 * 60

    def on(self, day: date) -> tuple[int, int]:
        if day.weekday() >= 5:
            return self.weekend_start, self.weekend_end
        return self.weekday_start, self.weekday_end


@dataclass(frozen=True)
class Sender:
    """Who the clinic's reminders come from; None: the service's default.

    SMS go through the Messaging Service when one is set, else from the number;
    calls always come from the number (a Messaging Service cannot place calls).
    """

    from_number: str | None = None  # E.164
    messaging_service_sid: str | None = None


@dataclass(frozen=True)
class PolicyDoc:
    steps: tuple[Step, ...]
    overrides: tuple[Override, ...] = ()
    hours: Hours = Hours()
    templates: dict[str, dict[str, str]] = field(default_factory=dict)  # only what the manager wrote
    show_provider: bool = False
    sender: Sender = Sender()
    sms_per_second: float | None = 1.0  # None: no limit of ours (the sender paces itself)
    calls_per_second: float | None = 1.0

    def steps_for(self, service_id: int | None, provider_id: int | None) -> tuple[Step, ...]:
        """A provider's override beats a service's, which beats the clinic's steps."""
        for o in self.overrides:
            if provider_id is not None and o.provider_id == provider_id:
                return o.steps
        for o in self.overrides:
            if service_id is not None and o.service_id == service_id:
                return o.steps
        return self.steps

    def template(self, channel: str, language: Language | str) -> str:
        """The clinic's text for this channel and language, else the built-in one."""
        language = Language(language)
        custom = self.templates.get(channel, {}).get(language.value)
        return custom if custom is not None else DEFAULT_TEMPLATES[channel][language]

    def to_json(self) -> dict[str, Any]:
        h = self.hours
        return {
            "steps": [_step_json(s) for s in self.steps],
            "overrides": [
                {"service_id": o.service_id, "provider_id": o.provider_id, "steps": [_step_json(s) for s in o.steps]}
                for o in self.overrides
            ],
            "hours": {
                "weekday_start": format_hhmm(h.weekday_start),
                "weekday_end": format_hhmm(h.weekday_end),
                "weekend_start": format_hhmm(h.weekend_start),
                "weekend_end": format_hhmm(h.weekend_end),
            },
            "templates": {ch: dict(sorted(self.templates.get(ch, {}).items())) for ch in TEMPLATE_CHANNELS},
            "show_provider": self.show_provider,
            "sender": {
                "from_number": self.sender.from_number,
                "messaging_service_sid": self.sender.messaging_service_sid,
            },
            "rate_limits": {"sms_per_second": self.sms_per_second, "calls_per_second": self.calls_per_second},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PolicyDoc:
        """A stored (already validated) document."""
        h, rates = data["hours"], data["rate_limits"]
        return cls(
            steps=tuple(_step_from(s) for s in data["steps"]),
            overrides=tuple(
                Override(tuple(_step_from(s) for s in o["steps"]), o.get("service_id"), o.get("provider_id"))
                for o in data["overrides"]
            ),
            hours=Hours(
                *(parse_hhmm(h[k], k) for k in ("weekday_start", "weekday_end", "weekend_start", "weekend_end"))
            ),
            templates={ch: dict(texts) for ch, texts in data["templates"].items() if texts},
            show_provider=data["show_provider"],
            sender=Sender(**data["sender"]),
            sms_per_second=rates["sms_per_second"],
            calls_per_second=rates["calls_per_second"],
        )


def _step_json(s: Step) -> dict[str, Any]:
    return {
        "offset_minutes": s.offset_minutes,
        "channel": s.channel.value,
        "run_if_confirmed": s.run_if_confirmed,
        "routine": s.routine,
        "fallback": s.fallback.value,
        "on_machine": s.on_machine.value,
    }


def _step_from(d: dict[str, Any]) -> Step:
    """A stored step; versions saved before ``on_machine`` existed fall back on a machine, as they did."""
    return Step(
        d["offset_minutes"],
        Channel(d["channel"]),
        d["run_if_confirmed"],
        d["routine"],
        Fallback(d["fallback"]),
        OnMachine(d.get("on_machine", OnMachine.FALLBACK.value)),
    )


DEFAULT_POLICY = PolicyDoc(
    steps=(
        Step(24 * 60, Channel.SMS),
        Step(2 * 60, Channel.VOICE, fallback=Fallback.SMS),
    )
)


# --- the planner ----------------------------------------------------------------------------------------------

TOO_LATE, CONFIRMED, NO_HOURS, AFTER_START = "too_late", "confirmed", "no_calling_hours", "after_start"
# A reminder must leave at least this long before the visit: no step may ask for less (MIN_OFFSET).
MIN_LEAD = timedelta(minutes=MIN_OFFSET)


@dataclass(frozen=True)
class PlannedStep:
    """One step of a booking's plan. ``offset_minutes`` is unique within a plan, so it names the step."""

    step_index: int
    channel: Channel
    send_at: datetime  # UTC; for a skipped step, when it would have gone out
    offset_minutes: int
    skipped_reason: str | None = None
    moved: bool = False  # send_at was moved earlier into the calling hours
    fallback: Fallback = Fallback.NONE
    automated_from: Channel | None = None  # a routine human call the surge turned into ``channel``


def plan_steps(
    doc: PolicyDoc,
    *,
    start_at: datetime,
    now: datetime,
    zone: str,
    service_id: int | None = None,
    provider_id: int | None = None,
    confirmed: bool = False,
    surge: bool = False,
) -> list[PlannedStep]:
    """The reminders a visit at ``start_at`` gets under ``doc``, planned at ``now`` for a patient in ``zone``."""
    for name, value in (("start_at", start_at), ("now", now)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime (UTC)")
    tz, hours, start_at = zone_info(zone), doc.hours, start_at.astimezone(UTC)
    planned: list[PlannedStep] = []
    for index, step in enumerate(doc.steps_for(service_id, provider_id)):
        channel, fallback = automated(step) if surge and step.routine else (step.channel, step.fallback)
        nominal = start_at - timedelta(minutes=step.offset_minutes)
        send_at = latest_allowed(nominal, tz, hours)
        reason = None
        if confirmed and not step.run_if_confirmed:
            reason = CONFIRMED
        elif send_at is None:
            reason = NO_HOURS
        elif send_at < now:
            reason = TOO_LATE
        elif not makes_sense(send_at, start_at):
            reason = AFTER_START
        planned.append(
            PlannedStep(
                index,
                channel,
                send_at or nominal,
                step.offset_minutes,
                reason,
                send_at is not None and send_at != nominal,
                fallback,
                step.channel if channel is not step.channel else None,
            )
        )
    return planned


def makes_sense(send_at: datetime, start_at: datetime) -> bool:
    """Whether a reminder (an SMS or a call, planned, moved or deferred) at ``send_at`` still reminds of a visit at
    ``start_at``: it leaves at least ``MIN_LEAD`` before the visit, as the shortest step the policy allows."""
    return send_at <= start_at - MIN_LEAD


def automated(step: Step) -> tuple[Channel, Fallback]:
    """A routine step in a surge: human calls become voice calls, and a fallback never repeats the channel."""
    channel = Channel.VOICE if step.channel in HUMAN else step.channel
    fallback = Fallback.VOICE if step.fallback is Fallback.OPERATOR_CALL else step.fallback
    if fallback.value == channel.value:
        fallback = Fallback.SMS
    return channel, fallback


def is_allowed(instant: datetime, tz: ZoneInfo, hours: Hours) -> bool:
    """Whether the patient's wall clock at ``instant`` is inside that local day's calling hours."""
    local = instant.astimezone(tz)
    start, end = hours.on(local.date())
    minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    return start <= minute < end


def latest_allowed(instant: datetime, tz: ZoneInfo, hours: Hours) -> datetime | None:
    """``instant`` if it is inside the hours, else the last allowed moment before it (None: none in a week)."""
    if is_allowed(instant, tz, hours):
        return instant
    day = instant.astimezone(tz).date()
    for back in range(8):
        found = [
            c for c in _closings(day - timedelta(days=back), tz, hours) if c <= instant and is_allowed(c, tz, hours)
        ]
        if found:
            return max(found)
    return None


def earliest_allowed(instant: datetime, tz: ZoneInfo, hours: Hours) -> datetime | None:
    """``instant`` if it is inside the hours, else the first allowed moment after it (None: none in a week).

    The window opens at the wall time ``start`` of a local day; where that wall time does not exist (a spring
    gap) it opens when the clock jumps past it, and where it happens twice (an autumn overlap) at its first
    occurrence after ``instant``. Every candidate is checked against the wall clock, as in ``latest_allowed``."""
    if is_allowed(instant, tz, hours):
        return instant
    day = instant.astimezone(tz).date()
    for ahead in range(9):
        found = [
            c for c in _openings(day + timedelta(days=ahead), tz, hours) if c > instant and is_allowed(c, tz, hours)
        ]
        if found:
            return min(found)
    return None


def _openings(day: date, tz: ZoneInfo, hours: Hours) -> list[datetime]:
    """Where the window of ``day`` may open: every occurrence of the wall time ``start``, and the clock's jump."""
    wall = datetime.combine(day, time()) + timedelta(minutes=hours.on(day)[0])
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == wall:
            found.append(instant)
    jump = _jump(day, tz)
    if jump is not None:
        found.append(jump)
    return found


def _closings(day: date, tz: ZoneInfo, hours: Hours) -> list[datetime]:
    """Where the window of ``day`` may close, less the margin: every occurrence of the wall time ``end``
    (none if it falls in a spring gap, two in an autumn overlap) and the clock's jump, if there is one."""
    wall = datetime.combine(day, time()) + timedelta(minutes=hours.on(day)[1]) - MOVE_MARGIN
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == wall:  # this wall time exists
            found.append(instant)
    jump = _jump(day, tz)
    if jump is not None:
        found.append(jump - MOVE_MARGIN)
    return found


def _jump(day: date, tz: ZoneInfo) -> datetime | None:
    """The first minute of a new UTC offset during ``day``, if the offset changes that day."""
    lo = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    before = lo.astimezone(tz).utcoffset()
    if before == hi.astimezone(tz).utcoffset():
        return None
    minute = timedelta(minutes=1)
    while hi - lo > minute:
        mid = lo + (hi - lo) // minute // 2 * minute
        lo, hi = (mid, hi) if mid.astimezone(tz).utcoffset() == before else (lo, mid)
    return hi
