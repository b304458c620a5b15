"""Register import: the wrong file is refused. Another CLP's register would remove most of the electors, and
an older edition would turn the register back; both are refused with a clear message unless forced, and a
dry run says so first.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from server.config import Config, ConfigError
from server.extensions import db
from server.models import AuditEvent, Elector, ElectorStatus, PollingDistrict, RegisterEdition
from server.services.register_import import ImportRefused, import_register
from server.services.register_parse import RegisterRejected, edition_date_from_filename
from tests.server.test_register_import import (
    CODE,
    DEC_14,
    JAN_14,
    JAN_UPDATE,
    count,
    elector,
    make_constituency,
)


def current() -> int:
    return count(Elector, Elector.status == ElectorStatus.CURRENT)


def other_clps_register(tmp_path: Path) -> Path:
    """The neighbouring CLP's December register: the same layout, its own polling districts BA1-BB2."""
    lines = DEC_14.read_text(encoding="utf-8").splitlines()
    renamed = [lines[0]] + ["B" + line[1:] for line in lines[1:]]
    path = tmp_path / "register-2026-12-full-E14000002.csv"
    path.write_text("\n".join(renamed) + "\n", encoding="utf-8")
    return path


def without_some_electors(tmp_path: Path, source: Path, keep: int, name: str) -> Path:
    """``source`` with only its first ``keep`` electors: a boundary change, or a file cut short."""
    lines = source.read_text(encoding="utf-8").splitlines()
    path = tmp_path / name
    path.write_text("\n".join(lines[:keep + 1]) + "\n", encoding="utf-8")
    return path


# --- Another CLP's register -----------------------------------------------------------------------------


def test_another_clps_register_is_refused_because_it_would_remove_nearly_every_elector(app, tmp_path):
    make_constituency()
    import_register(DEC_14, CODE)
    wrong = other_clps_register(tmp_path)

    with pytest.raises(ImportRefused) as refused:
        import_register(wrong, CODE, create_districts=True)

    message = refused.value.message
    assert message.startswith("The register was not imported: It would mark 2,403 of the 2,403 current electors "
                              "removed (100.0%), more than the 20% allowed (REGISTER_MAX_REMOVAL_SHARE): is it "
                              "another constituency's register, or only part of one?")
    assert message.endswith("Nothing was written.")
    assert current() == 2403 and count(Elector) == 2403
    assert count(RegisterEdition) == 1 and count(PollingDistrict) == 4  # the districts it would add are not kept


def test_without_create_districts_the_refusal_still_leads_with_the_wrong_file_and_lists_the_rows(app, tmp_path):
    make_constituency()
    import_register(DEC_14, CODE)

    with pytest.raises(ImportRefused) as refused:
        import_register(other_clps_register(tmp_path), CODE)

    assert "another constituency's register" in refused.value.message
    assert "2403 of 2403 rows also have problems" in refused.value.message
    rows = refused.value.details["rows"]
    assert rows[0]["line"] == 2 and "polling district BA1 is not known" in rows[0]["message"]


def test_the_dry_run_says_first_that_the_wrong_clps_register_would_be_refused(app, runner, tmp_path):
    make_constituency()
    import_register(DEC_14, CODE)

    result = runner.invoke(args=["register", "import", str(other_clps_register(tmp_path)), "--constituency", CODE,
                                 "--create-districts", "--dry-run"])

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "Would create polling district(s) BA1, BA2, BB1, BB2 under the 'Unallocated' ward."
    assert lines[1] == (f"Dry run of register-2026-12-full-E14000002 into {CODE} "
                        "(edition date 2026-12-01, from the file name):")
    assert lines[2].startswith("  passes: the edition is dated 2026-12-01 (from its file name), not before")
    assert lines[3].startswith("  REFUSED: it would mark 2,403 of the 2,403 current electors removed (100.0%)")
    assert lines[4] == "2403 added, 0 updated, 2403 removed, 0 unchanged, 0 rejected. Nothing was written."
    assert "--force imports it anyway" in lines[5]
    assert current() == 2403 and count(PollingDistrict) == 4


# --- A real change that removes many ------------------------------------------------------------------


def test_a_register_that_really_removes_many_electors_imports_with_force_and_the_audit_says_so(
        app, runner, tmp_path):
    make_constituency()
    import_register(DEC_14, CODE)
    # A boundary review moved 700 of the 2,403 electors (29%) into the next constituency.
    smaller = without_some_electors(tmp_path, JAN_14, 1703, "register-2027-01-after-boundary-review.csv")

    dry = runner.invoke(args=["register", "import", str(smaller), "--constituency", CODE, "--dry-run"])
    assert dry.exit_code == 1 and "REFUSED: it would mark" in dry.output
    refused = runner.invoke(args=["register", "import", str(smaller), "--constituency", CODE])
    assert refused.exit_code == 1 and "more than the 20% allowed" in refused.output
    assert current() == 2403

    forced = runner.invoke(args=["register", "import", str(smaller), "--constituency", CODE, "--force"])

    assert forced.exit_code == 0, forced.output
    assert forced.output.startswith("Forced past a guard: it would mark")
    assert current() == 1703
    event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
    assert event.details["forced_past"] == ["removal_share"]


def test_the_share_a_register_may_remove_is_configurable(app, tmp_path):
    make_constituency()
    import_register(DEC_14, CODE)
    smaller = without_some_electors(tmp_path, DEC_14, 1703, "register-2027-01-after-boundary-review.csv")
    with pytest.raises(ImportRefused):
        import_register(smaller, CODE)

    app.config["REGISTER_MAX_REMOVAL_SHARE"] = 0.5
    summary = import_register(smaller, CODE)

    assert summary.removed == 700 and current() == 1703
    assert [g.passed for g in summary.guards] == [True, True]


def test_the_removal_share_setting_is_read_from_the_environment_and_checked(monkeypatch):
    assert Config().REGISTER_MAX_REMOVAL_SHARE == 0.2
    monkeypatch.setenv("REGISTER_MAX_REMOVAL_SHARE", "0.35")
    assert Config().REGISTER_MAX_REMOVAL_SHARE == 0.35
    monkeypatch.setenv("REGISTER_MAX_REMOVAL_SHARE", "35%")
    with pytest.raises(ConfigError, match="REGISTER_MAX_REMOVAL_SHARE must be a number from 0 to 1"):
        Config()
    monkeypatch.setenv("REGISTER_MAX_REMOVAL_SHARE", "1.5")
    with pytest.raises(ConfigError):
        Config()


def test_a_monthly_update_never_trips_the_removal_guard_because_it_removes_nobody(app):
    make_constituency()
    import_register(DEC_14, CODE)

    summary = import_register(JAN_UPDATE, CODE, mode="update", max_removal_share=0.0)

    assert summary.removed == 0 and [g.name for g in summary.guards] == ["edition_date"]


def test_with_bad_rows_the_guard_counts_only_what_it_knows_for_sure(app, tmp_path):
    make_constituency()
    import_register(DEC_14, CODE)
    # A copy of December whose postcodes were mangled in a spreadsheet: every row is bad, but nothing in it
    # says the electors have gone, so the bad rows, not the guard, are the story.
    mangled = DEC_14.read_text(encoding="utf-8").replace(",EF", ",E!F")
    path = tmp_path / "register-2026-12-mangled.csv"
    path.write_text(mangled, encoding="utf-8")

    with pytest.raises(RegisterRejected) as rejected:
        import_register(path, CODE)

    guards = {g["name"]: g for g in rejected.value.details["guards"]}
    assert guards["removal_share"]["passed"]
    assert "at least" in guards["removal_share"]["message"]


# --- An older edition -----------------------------------------------------------------------------------


def test_an_edition_older_than_the_last_imported_is_refused_before_a_row_is_read(app):
    make_constituency()
    import_register(JAN_14, CODE)
    january = db.session.scalar(select(RegisterEdition))
    assert january.published_on == date(2027, 1, 1)  # from the file name, register-2027-01-full-14col.csv

    with pytest.raises(ImportRefused) as refused:
        import_register(DEC_14, CODE)

    assert refused.value.message == (
        "The register was not imported: The edition is dated 2026-12-01 (from its file name), before "
        "'register-2027-01-full-14col' (2027-01-01), the latest edition imported into E14000001: importing it "
        "would turn the register back. Check the file, give its real date with --edition-date, or import it with "
        "--force. Nothing was written.")
    assert count(RegisterEdition) == 1 and elector("AA1-33").surname == "Ellis"


def test_an_older_monthly_update_is_refused_too(app, tmp_path):
    make_constituency()
    import_register(JAN_14, CODE)
    stale = tmp_path / "register-2026-12-15-update.csv"
    stale.write_bytes(JAN_UPDATE.read_bytes())

    with pytest.raises(ImportRefused):
        import_register(stale, CODE, mode="update")


def test_an_edition_date_given_explicitly_is_used_and_force_imports_an_old_edition(app, runner):
    make_constituency()
    import_register(JAN_14, CODE)

    corrected = runner.invoke(args=["register", "import", str(DEC_14), "--constituency", CODE,
                                    "--edition-date", "2027-02-01", "--edition", "February correction"])
    assert corrected.exit_code == 0, corrected.output

    older = runner.invoke(args=["register", "import", str(JAN_14), "--constituency", CODE])
    assert older.exit_code == 1
    assert "dated 2027-01-01 (from its file name), before 'February correction' (2027-02-01)" in older.output

    forced = runner.invoke(args=["register", "import", str(JAN_14), "--constituency", CODE, "--force"])
    assert forced.exit_code == 0, forced.output
    assert forced.output.startswith("Forced past a guard: the edition is dated 2027-01-01")
    dates = db.session.scalars(select(RegisterEdition.published_on).order_by(RegisterEdition.id)).all()
    assert dates == [date(2027, 1, 1), date(2027, 2, 1), date(2027, 1, 1)]


def test_a_bad_edition_date_is_a_usage_error(app, runner):
    make_constituency()
    result = runner.invoke(args=["register", "import", str(DEC_14), "--constituency", CODE,
                                 "--edition-date", "01/12/2026"])
    assert result.exit_code == 2 and "is not a date in the form YYYY-MM-DD" in result.output


def test_an_edition_with_no_date_is_not_compared_and_the_dry_run_says_so(app, runner, tmp_path):
    make_constituency()
    import_register(JAN_14, CODE)
    undated = tmp_path / "register.csv"
    undated.write_bytes(JAN_14.read_bytes())

    dry = runner.invoke(args=["register", "import", str(undated), "--constituency", CODE, "--dry-run"])

    assert dry.exit_code == 0, dry.output
    assert "(edition date unknown):" in dry.output
    assert "passes: the edition's date is not known (give it with --edition-date)" in dry.output
    summary = import_register(undated, CODE)
    assert db.session.get(RegisterEdition, summary.edition_id).published_on is None


def test_edition_dates_are_read_only_from_clear_dates_in_file_names():
    assert edition_date_from_filename("register-2027-01-full-14col.csv") == date(2027, 1, 1)
    assert edition_date_from_filename("Elmford_2027_03_15.csv") == date(2027, 3, 15)
    assert edition_date_from_filename("register.2026.12.csv") == date(2026, 12, 1)
    assert edition_date_from_filename("export-20270115.csv") is None  # run together: too easily another number
    assert edition_date_from_filename("register-2027-13.csv") is None
    assert edition_date_from_filename("register-2027-02-30.csv") is None
    assert edition_date_from_filename("ward-12027-01.csv") is None
    assert edition_date_from_filename(None) is None
