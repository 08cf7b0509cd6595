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
    change_words,
    comparison_name,
    format_pct,
    format_tonnes,
    missing_sentence,
    month_name,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

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


def compose_paragraphs(
    month: Month,
    hs8_code: str | None,
    world: ExportRow | None,
    us: ExportRow | None,
    comparison_rows: Collection[tuple[str, Month]],
    events_near: Sequence[PolicyEvent],
    headline: Sequence[HeadlineFigure] = (),
) -> tuple[tuple[str, ...], ...]:
    """The brief's sentences, in paragraphs: GACC's headline series when the month has them, the
    magnets' total and the United States when published, and the events; from the marts' rows.

    ``comparison_rows`` holds the (partner code, month) of the comparison months that have a row in
    the mart: a NULL change is "not published" when the row is absent, "against zero" otherwise.
    """
    events = (_events_sentence(month, events_near),)
    if hs8_code is None:
        return (headline_paragraph(month, headline, magnets_published=False), events)
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
        return (headline_paragraph(month, headline, magnets_published=True), *magnets, events)
    return (*magnets, events)
