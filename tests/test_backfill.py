"""`make backfill FROM= TO=`: which months of a range it runs, and what it says about the others."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import land_sample_month

from critmin.cli import main, months_to_backfill
from critmin.months import Month


def test_a_range_runs_the_months_with_files_and_names_the_missing_ones(settings, paths):
    for month in ("2024-07", "2024-09", "2024-10"):
        land_sample_month(paths, month)
    (paths.landing_dir("gacc/export", "2024-11")).mkdir(parents=True)  # an empty folder: nothing landed
    said: list[str] = []
    months = months_to_backfill(settings, Month(2024, 6), Month(2024, 11), report=said.append)
    assert months == [Month(2024, 7), Month(2024, 9), Month(2024, 10)]
    (message,) = said
    assert "3 of the 6 months (2024-06, 2024-08, 2024-11): not run, they stay missing" in message
    assert str(paths.landing / "gacc" / "export") in message


def test_a_range_without_files_runs_nothing_and_fails(settings, capsys):
    assert months_to_backfill(settings, Month(2020, 1), Month(2020, 3), report=print) == []
    assert "Nothing to run: no month from 2020-01 to 2020-03" in capsys.readouterr().out
    assert main(["backfill", "2020-01", "2020-03"]) == 1


@pytest.mark.parametrize(
    ("first", "last", "said"),
    [
        ("2025-09", "2025-01", "ends before it starts"),
        ("2025-01", f"{date.today().year + 1}-01", "future"),
        ("2025-1", "2025-03", "is not a month"),
    ],
)
def test_a_bad_range_is_refused_before_anything_runs(settings, capsys, first, last, said):
    with pytest.raises(SystemExit) as exit_:
        main(["backfill", first, last])
    assert exit_.value.code == 2
    assert said in capsys.readouterr().err
