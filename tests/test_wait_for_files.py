"""customs_monthly's first task: a scheduled run waits for its month's files, a manual run does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from conftest import land_sample_month

from critmin.errors import InputError, WaitedInVain
from critmin.months import Month
from critmin.settings import files_poke_seconds
from critmin.steps import customs_monthly as steps

MAY = Month(2025, 5)
#: The run of 25 June 2025 (it loads May), and how the clock looks to it.
JUNE_25 = datetime(2025, 6, 25, 6, tzinfo=UTC)
LATEST = Month(2025, 6)


def test_a_scheduled_run_gives_up_at_the_end_of_the_month_after_gacc_publishes():
    assert steps.files_deadline(MAY) == datetime(2025, 8, 1, tzinfo=UTC)
    assert steps.files_deadline("2025-11") == datetime(2026, 2, 1, tzinfo=UTC)
    assert steps.files_deadline("2025-12") == datetime(2026, 3, 1, tzinfo=UTC)
    # the next month's scheduled run (25 July loads June) starts before May's gives up
    assert steps.files_deadline(MAY) > JUNE_25 + timedelta(days=30)


def test_the_run_type_is_read_from_either_enum():
    from airflow.sdk.api.datamodels._generated import DagRunType as SdkRunType
    from airflow.utils.types import DagRunType

    def run_of(run_type):
        return {"dag_run": SimpleNamespace(run_type=run_type)}

    assert steps.run_type_of(run_of(SdkRunType.SCHEDULED)) == "scheduled"  # str() would say DagRunType.…
    assert steps.run_type_of(run_of(SdkRunType.BACKFILL)) == "backfill"
    assert steps.run_type_of(run_of(DagRunType.MANUAL)) == "manual"
    assert steps.run_type_of(run_of("asset_triggered")) == "asset_triggered"
    assert steps.run_type_of({}) == "None"


def test_runs_that_do_not_wait_fail_at_once(settings):
    for run_type in ("manual", "asset_triggered", "operator_triggered", "None"):
        with pytest.raises(InputError, match="month_has_files") as error:
            steps.wait_for_files(settings, MAY, LATEST, run_type, JUNE_25)
        assert not isinstance(error.value, WaitedInVain)


def test_a_manual_run_without_files_fails_at_once_as_land_would(settings, paths):
    folder = paths.landing_dir("gacc/export", MAY)
    with pytest.raises(InputError, match="no files have been landed for 2025-05") as waited:
        steps.wait_for_files(settings, MAY, LATEST, "manual", JUNE_25)
    with pytest.raises(InputError) as landed:
        steps.land(settings, MAY, LATEST)
    assert str(waited.value) == str(landed.value)
    assert not isinstance(waited.value, WaitedInVain)
    assert waited.value.rule == "month_has_files"
    assert f"put the CSV files in {folder}/" in str(waited.value)
    # a hidden file is not a download (land ignores it too)
    folder.mkdir(parents=True)
    (folder / ".DS_Store").write_bytes(b"\0")
    with pytest.raises(InputError, match="month_has_files"):
        steps.wait_for_files(settings, MAY, LATEST, "manual", JUNE_25)


def test_manual_and_backfill_runs_with_files_go_on_at_once(settings, paths):
    land_sample_month(paths, "2025-05")  # copied just now
    assert steps.wait_for_files(settings, MAY, LATEST, "manual")
    assert steps.wait_for_files(settings, MAY, LATEST, "backfill")
    assert steps.wait_for_files(settings, MAY, LATEST, "scheduled") is False, "it waits for quiet"


def test_a_month_in_the_future_is_refused_before_looking_for_files(settings):
    for run_type in ("manual", "scheduled", "backfill"):
        with pytest.raises(InputError, match="month_not_in_future"):
            steps.wait_for_files(settings, Month(2025, 7), LATEST, run_type, JUNE_25)


@pytest.mark.parametrize("run_type", ["scheduled", "backfill"])
def test_a_scheduled_run_waits_for_files_until_its_deadline_then_names_the_folder(
    settings, paths, caplog, run_type
):
    folder = paths.landing_dir("gacc/export", MAY)
    caplog.set_level("INFO", logger="critmin.steps.customs_monthly")
    assert steps.wait_for_files(settings, MAY, LATEST, run_type, JUNE_25) is False
    assert f"no files in {folder} yet: waiting for them until 2025-08-01 00:00 UTC" in caplog.text
    just_before = steps.files_deadline(MAY) - timedelta(seconds=1)
    assert steps.wait_for_files(settings, MAY, LATEST, run_type, just_before) is False
    assert not folder.exists(), "waiting creates nothing"

    with pytest.raises(WaitedInVain) as gave_up:
        steps.wait_for_files(settings, MAY, LATEST, run_type, steps.files_deadline(MAY))
    message = str(gave_up.value)
    assert message.startswith(f"{folder}: no files have been landed for 2025-05 by 2025-08-01 00:00 UTC")
    assert gave_up.value.rule == "month_has_files"
    assert f"put the CSV files in {folder}/" in message
    assert "make run-month MONTH=2025-05" in message


def test_a_scheduled_run_lands_files_once_the_folder_has_been_quiet(settings, paths):
    land_sample_month(paths, "2025-05")
    moved_in = datetime.now(UTC)
    quiet = timedelta(seconds=settings.files_quiet_seconds)
    assert quiet == timedelta(hours=1)
    assert steps.wait_for_files(settings, MAY, LATEST, "scheduled", moved_in + quiet / 2) is False
    assert steps.wait_for_files(settings, MAY, LATEST, "scheduled", moved_in + quiet + timedelta(seconds=5))
    # files still arriving at the deadline: the run does not give up on them
    late = steps.files_deadline(MAY)
    assert steps.files_ready(settings, MAY, late) and not steps.files_ready(settings, MAY, late, 10**9)
    assert steps.wait_for_files(settings, MAY, LATEST, "scheduled", late) is False


def test_a_new_file_restarts_the_quiet_period(settings, paths):
    folder = land_sample_month(paths, "2025-05")
    an_hour_later = datetime.now(UTC) + timedelta(hours=1, seconds=5)
    assert steps.files_ready(settings, MAY, an_hour_later, 3600)
    (folder / "85051110_second_download.csv").write_bytes(b"")
    changed = datetime.now(UTC)
    assert not steps.files_ready(settings, MAY, changed + timedelta(minutes=30), 3600)
    assert steps.files_ready(settings, MAY, changed + timedelta(hours=1, seconds=5), 3600)


def test_poke_ends_the_wait_as_a_sensor_timeout_and_fails_other_errors_without_retry(settings, paths):
    from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

    from critmin.steps.tasks import poke

    deadline = steps.files_deadline(MAY)
    assert poke(steps.wait_for_files, MAY, LATEST, "scheduled", JUNE_25) is False
    with pytest.raises(AirflowSensorTimeout, match="no files have been landed for 2025-05 by 2025-08-01"):
        poke(steps.wait_for_files, MAY, LATEST, "scheduled", deadline)
    with pytest.raises(AirflowFailException, match="no files have been landed for 2025-05 \\[rule"):
        poke(steps.wait_for_files, MAY, LATEST, "manual", JUNE_25)
    land_sample_month(paths, "2025-05")
    assert poke(steps.wait_for_files, MAY, LATEST, "manual", JUNE_25) is True


def test_the_poke_interval_is_half_an_hour_and_never_under_15_seconds():
    assert files_poke_seconds({}) == 1800
    assert files_poke_seconds({"CRITMIN_FILES_POKE_SECONDS": "60"}) == 60
    assert files_poke_seconds({"CRITMIN_FILES_POKE_SECONDS": "1"}) == 15


def test_the_quiet_period_is_a_setting(tmp_path):
    from critmin.settings import Settings

    settings = Settings.from_env({"CRITMIN_HOME": str(tmp_path), "CRITMIN_FILES_QUIET_SECONDS": "0"})
    assert settings.files_quiet_seconds == 0
    assert Settings.from_env(settings.environment()) == settings
