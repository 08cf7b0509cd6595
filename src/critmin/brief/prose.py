"""The brief's sentences, from the marts' rows: nothing is computed that the marts do not hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from critmin.brief.model import (
    EVENT_WINDOW_MONTHS,
    US_PARTNER_CODE,
    WORLD_PARTNER_CODE,
    ExportRow,
    HeadlineFigure,
    PolicyEvent,
    Release,
    Revision,
    change_words,
    comparison_name,
    day_text,
    format_pct,
    format_precise,
    format_tonnes,
    missing_sentence,
    month_name,
    period_text,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from datetime import date

    from critmin.months import Month


def _world_sentences(
    month: Month, hs8_code: str, world: ExportRow | None, previous: Mapping[str, bool]
) -> list[str]:
    if world is None:
        return [f"No total over all destinations was published for {month_name(month)}."]
    headline = (
        f"China exported {format_tonnes(world.quantity_t)} tonnes of rare-earth magnets "
        f"(HS {hs8_code}) in {month_name(month)}."
    )
    changes: list[str] = []
    notes: list[str] = []
    for pct, other, key, kind in (
        (world.mom_pct, month.shifted(-1), "mom", "month-over-month"),
        (world.yoy_pct, month.shifted(-12), "yoy", "year-over-year"),
    ):
        if pct is not None:
            verb, size = change_words(pct)
            changes.append(" ".join(filter(None, (verb, size, "from", comparison_name(month, other)))))
        elif previous[key]:
            notes.append(f"The total for {month_name(other)} was zero, so no {kind} change is given.")
        else:
            notes.append(missing_sentence("", other, kind))
    sentences = [headline]
    if changes:
        sentences.append("Total exports " + " and ".join(changes) + ".")
    return sentences + notes


def _us_sentences(month: Month, us: ExportRow | None, previous: Mapping[str, bool]) -> list[str]:
    if us is None:
        return [f"No figure for exports to the United States was published for {month_name(month)}."]
    tonnes = format_tonnes(us.quantity_t)
    previous_month, previous_year = month.shifted(-1), month.shifted(-12)
    sentences = []
    if us.mom_pct is None:
        sentences.append(f"Exports to the United States were {tonnes} tonnes.")
        if previous["mom"]:
            sentences.append(
                f"Exports to the United States in {month_name(previous_month)} were zero, "
                "so no month-over-month change is given."
            )
        else:
            sentences.append(
                missing_sentence(" for exports to the United States", previous_month, "month-over-month")
            )
    elif us.mom_pct == 0:
        sentences.append(
            f"Exports to the United States were unchanged from "
            f"{comparison_name(month, previous_month)} at {tonnes} tonnes."
        )
    else:
        verb, size = change_words(us.mom_pct)
        sentences.append(
            f"Exports to the United States {verb} {size} from "
            f"{comparison_name(month, previous_month)} to {tonnes} tonnes."
        )
    if us.yoy_pct is not None:
        verb, size = change_words(us.yoy_pct)
        sentences.append(
            " ".join(filter(None, ("They", verb, size, "from", month_name(previous_year)))) + "."
        )
    elif previous["yoy"]:
        sentences.append(
            f"Exports to the United States in {month_name(previous_year)} were zero, "
            "so no year-over-year change is given."
        )
    else:
        sentences.append(
            missing_sentence(" for exports to the United States", previous_year, "year-over-year")
        )
    if us.share_of_world_pct is not None:
        sentences.append(f"The United States took {format_pct(us.share_of_world_pct)}% of the total.")
    return sentences


def _events_sentence(month: Month, events_near: Sequence[PolicyEvent]) -> str:
    start, end = month.shifted(-EVENT_WINDOW_MONTHS), month.shifted(EVENT_WINDOW_MONTHS)
    span = f"from {month_name(start)} to {month_name(end)}"
    if not events_near:
        return f"No export-control events are recorded {span}."
    noun = "event is" if len(events_near) == 1 else "events are"
    return f"{len(events_near)} export-control {noun} recorded {span}."


def _headline_sentence(month: Month, figure: HeadlineFigure) -> str:
    verb = "exported" if figure.flow == "export" else "imported"
    tonnes = format_tonnes(figure.quantity_t)
    source = "GACC's flash table" if figure.release_kind == "flash" else "GACC's monthly table"
    if figure.period_kind == "jan_feb":
        return (
            f"China {verb} {tonnes} tonnes of {figure.commodity} in January and February "
            f"{month.year} together ({source}, which printed the two months as one period, so no "
            "month-over-month change is given)."
        )
    sentence = f"China {verb} {tonnes} tonnes of {figure.commodity} in {month_name(month)}"
    previous = month.shifted(-1)
    if figure.mom_pct is None:
        return (
            f"{sentence} ({source}). No single-month figure was published for "
            f"{month_name(previous)}, so no month-over-month change is given."
        )
    if figure.mom_pct == 0:
        return f"{sentence}, unchanged from {comparison_name(month, previous)} ({source})."
    word = "up" if figure.mom_pct > 0 else "down"
    _, size = change_words(figure.mom_pct)
    return f"{sentence}, {word} {size} from {comparison_name(month, previous)} ({source})."


def headline_paragraph(
    month: Month, headline: Sequence[HeadlineFigure], magnets_published: bool
) -> tuple[str, ...]:
    """The headline series first (exports, then imports), then what is not published yet."""
    sentences = [_headline_sentence(month, figure) for figure in sorted(headline, key=lambda f: f.flow)]
    if not magnets_published:
        sentences.append(
            f"The rare-earth magnet exports by destination for {month_name(month)} are not published "
            "yet: GACC publishes them around the 20th of the next month, after these tables."
        )
    return tuple(sentences)


#: How many revisions a brief names; the rest are counted (marts.fct_trade_revisions lists all).
REVISIONS_NAMED = 4
_RELEASE_NAMES = {
    "flash": "GACC's flash tables",
    "monthly_table": "GACC's tables 13/14",
    "query_platform": "GACC's query-platform data",
}


_BASIS_NOTES = {
    "supplied": " (a day GACC does not give, supplied when the file was landed)",
    "landing": " (the day the file was landed: no release day was given)",
}


def _release_text(kind: str, day: date, basis: str) -> str:
    return f"{_RELEASE_NAMES.get(kind, kind)} of {day_text(day)}{_BASIS_NOTES.get(basis, '')}"


def _releases_of(what: str, releases: Sequence[Release]) -> str:
    """``The rare-earth figures are as first published in GACC's flash tables of 14 July 2025``;
    flows told apart when their releases differ."""

    def release(r: Release) -> str:
        text = _release_text(r.release_kind, r.released_on, r.date_basis)
        if r.first_published_on is None:
            return f"as first published in {text}"
        return f"as revised in {text} (first published on {day_text(r.first_published_on)})"

    texts = {r.flow: release(r) for r in releases}
    if len(set(texts.values())) == 1:
        return f"The {what} figures are {next(iter(texts.values()))}."
    (flow, text), *rest = sorted(texts.items())
    return f"The {what} {flow}s are {text}" + "".join(f", and the {f}s {t}" for f, t in rest) + "."


def releases_sentences(releases: Sequence[Release]) -> list[str]:
    """Which releases the month's figures come from, and whether as first published."""
    sentences = []
    for family, what in (("headline", "rare-earth"), ("magnets", "magnet export")):
        chosen = [r for r in releases if r.family == family]
        if chosen:
            sentences.append(_releases_of(what, chosen))
    return sentences


def _revision_text(revision: Revision) -> str:
    change = revision.after_t - revision.before_t
    direction = "up" if change > 0 else "down"
    flow = "exports" if revision.flow == "export" else "imports"
    if revision.partner_name:
        what = f"magnet exports to {revision.partner_name}"
    else:
        what = f"{flow} of {revision.commodity or revision.series_id}"
    period = period_text(revision.period_kind, revision.period_start, revision.period_end)
    release = _release_text(revision.release_kind, revision.released_on, revision.date_basis)
    return (
        f"{what} for {period} {direction} by {format_precise(abs(change))} t, to "
        f"{format_precise(revision.after_t)} t ({release})"
    )


def revisions_sentence(revisions: Sequence[Revision]) -> str | None:
    """The revisions of earlier figures published since the previous month's figures."""
    if not revisions:
        return None
    named = [_revision_text(r) for r in revisions[:REVISIONS_NAMED]]
    more = len(revisions) - len(named)
    text = "Since the previous month's figures, GACC revised " + "; ".join(named)
    if more:
        text += f"; and {more} more figure{'s' if more > 1 else ''} (marts.fct_trade_revisions)"
    return text + "."


def compose_paragraphs(
    month: Month,
    hs8_code: str | None,
    world: ExportRow | None,
    us: ExportRow | None,
    comparison_rows: Collection[tuple[str, Month]],
    events_near: Sequence[PolicyEvent],
    headline: Sequence[HeadlineFigure] = (),
    releases: Sequence[Release] = (),
    revisions: Sequence[Revision] = (),
) -> tuple[tuple[str, ...], ...]:
    """The brief's sentences, in paragraphs: GACC's headline series when the month has them, the
    magnets' total and the United States when published, the events, and the releases the
    figures come from with the revisions published since the previous month; from the marts' rows.

    ``comparison_rows`` holds the (partner code, month) of the comparison months that have a row in
    the mart: a NULL change is "not published" when the row is absent, "against zero" otherwise.
    """
    events = (_events_sentence(month, events_near),)
    vintages = tuple(filter(None, (*releases_sentences(releases), revisions_sentence(revisions))))
    tail = (events, vintages) if vintages else (events,)
    if hs8_code is None:
        return (headline_paragraph(month, headline, magnets_published=False), *tail)
    previous = {
        partner: {
            "mom": (partner, month.shifted(-1)) in comparison_rows,
            "yoy": (partner, month.shifted(-12)) in comparison_rows,
        }
        for partner in (WORLD_PARTNER_CODE, US_PARTNER_CODE)
    }
    magnets = (
        tuple(_world_sentences(month, hs8_code, world, previous[WORLD_PARTNER_CODE])),
        tuple(_us_sentences(month, us, previous[US_PARTNER_CODE])),
    )
    if headline:
        return (headline_paragraph(month, headline, magnets_published=True), *magnets, *tail)
    return (*magnets, *tail)
