"""The no-show report in the manager's words: its groups' names, and its statement rebuilt from the facts the
domain gives (``NoShowReport.finding``), sentence by sentence through gettext, with numbers in the manager's
locale. The API's ``statement`` stays the English sentence ``recall.reminders.no_shows`` builds from the same facts.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from recall.reminders.no_shows import HELD_OUT, NOT_REMINDED, REMINDED, Finding, Group, NoShowReport, Rate
from recall.web.console.i18n import number


def section_label(section: str) -> str:
    return {"arm": _("Arms"), "channel": _("By channel"), "step": _("By step")}.get(section, section)


def channel_label(channel: str) -> str:
    labels = {
        "sms": _("SMS"),
        "voice": _("Automated voice call"),
        "operator_call": _("Operator's call"),
        "frontdesk_call": _("Front desk's call"),
    }
    return labels.get(channel, channel)


def _before(minutes: int) -> str:
    if minutes and minutes % 1440 == 0:
        return ngettext("%(num)s day before", "%(num)s days before", minutes // 1440)
    if minutes and minutes % 60 == 0:
        return ngettext("%(num)s hour before", "%(num)s hours before", minutes // 60)
    return ngettext("%(num)s minute before", "%(num)s minutes before", minutes)


def group_label(g: Group) -> str:
    """An arm's name, a channel's, or a step's as its channel and how long before the visit it goes out."""
    if g.section == "arm":
        arms = {REMINDED: _("Reminded"), HELD_OUT: _("Held out"), NOT_REMINDED: _("Not reminded")}
        return arms.get(g.name, g.name)
    if g.section == "step" and g.channel is not None and g.offset_minutes is not None:
        return _("%(channel)s, %(offset)s", channel=channel_label(g.channel), offset=_before(g.offset_minutes))
    return channel_label(g.channel or g.name)


def _percent(share: float) -> str:
    return f"{number(share * 100, 1)} %"


def _rate(r: Rate) -> str:
    if r.rate is None or r.low is None or r.high is None:
        return _("no data")
    return _(
        "%(rate)s (95%% interval %(low)s to %(high)s, n = %(count)s)",
        rate=_percent(r.rate),
        low=_percent(r.low),
        high=_percent(r.high),
        count=number(r.bookings),
    )


def statement(report: NoShowReport) -> list[str]:
    """The report's statement as sentences in the manager's language: the two rates, whether their difference is
    significant (or that there is not enough data yet), and whether the comparison is causal."""
    f = report.finding
    return [line for line in (_rates(f), _verdict(f), _causal(f)) if line]


def _rates(f: Finding) -> str:
    t, c = f.treated, f.control
    if f.difference is None or f.p_value is None:
        if f.causal:
            return _(
                "Not enough data yet: bookings with an outcome, reminded: %(treated)s, held out: %(control)s.",
                treated=number(t.bookings),
                control=number(c.bookings),
            )
        return _(
            "Not enough data yet: bookings with an outcome, reminded: %(treated)s, not reminded: %(control)s.",
            treated=number(t.bookings),
            control=number(c.bookings),
        )
    if f.causal:
        return _(
            "No-show rate of the reminded bookings: %(treated)s; of the held-out ones: %(control)s.",
            treated=_rate(t),
            control=_rate(c),
        )
    return _(
        "No-show rate of the reminded bookings: %(treated)s; of those not reminded: %(control)s.",
        treated=_rate(t),
        control=_rate(c),
    )


def _verdict(f: Finding) -> str | None:
    if f.difference is None or f.p_value is None:
        return None  # _rates said there is not enough data
    points = ("+" if f.difference > 0 else "") + number(f.difference * 100, 1)
    if f.verdict == "significant":
        return _(
            "The difference of %(points)s percentage points is significant (two-proportion z-test, p = %(p)s).",
            points=points,
            p=number(f.p_value, 3),
        )
    return _(
        "The difference of %(points)s percentage points is not significant yet (two-proportion z-test, "
        "p = %(p)s): more bookings may tell.",
        points=points,
        p=number(f.p_value, 3),
    )


def _causal(f: Finding) -> str:
    if f.causal:
        return _("The held-out bookings were chosen at random, so the comparison of the arms is causal.")
    return _(
        "This comparison is not causal: without a holdout, the patients who get no reminder differ from the "
        "others. Switch on the reminder holdout in the clinic's settings to measure the effect."
    )


def outside_holdout(report: NoShowReport) -> str | None:
    """How many bookings are in neither arm (planned while no holdout was on), if any."""
    if not report.outside_holdout:
        return None
    return ngettext(
        "%(num)s booking planned while no holdout was on is in neither arm.",
        "%(num)s bookings planned while no holdout was on are in neither arm.",
        report.outside_holdout,
    )
