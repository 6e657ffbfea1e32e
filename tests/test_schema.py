"""The data contract's parsers and validation, as the API will call them (JSON values)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from models.schema import (
    ATTEMPTS,
    STUDENTS,
    Attempt,
    FieldError,
    Known,
    parse_bool,
    parse_id,
    parse_pseudonymous_id,
    parse_subject,
    parse_timestamp,
    validate_record,
)


def _known() -> Known:
    return Known(
        schools={"s": "Asia/Shanghai"},
        class_schools={"c": "s"},
        student_classes={"stu-1": "c"},
        item_subjects={"i-1": "math"},
        now=datetime(2026, 11, 24, 12, tzinfo=UTC),
    )


def test_ids_refuse_newlines_and_real_identities() -> None:
    assert parse_id("stu-1") == "stu-1"
    assert parse_id(" stu-1\n") == "stu-1"  # spreadsheet padding is trimmed
    for bad in ["stu\n1", "stu-1\nDROP", "a b", "", "-x", "x" * 65]:
        with pytest.raises(FieldError):
            parse_id(bad)
    for real in ["11010120140101123X", "13812345678"]:
        with pytest.raises(FieldError, match="national ID or phone"):
            parse_pseudonymous_id(real)


def test_school_spreadsheet_values_are_understood() -> None:
    assert parse_bool("对") is True and parse_bool("FALSE") is False and parse_bool(1) is True
    assert parse_subject("数学") == "math" and parse_subject("Math") == "math"


def test_timestamps_without_offset_are_school_time_and_offsets_are_kept() -> None:
    shanghai = timezone(timedelta(hours=8))
    naive = parse_timestamp("2026-10-12 19:30", shanghai)
    assert naive.utcoffset() == timedelta(hours=8)
    kept = parse_timestamp("2026-10-12T12:30:00+01:00", shanghai)
    assert kept.utcoffset() == timedelta(hours=1) and kept == datetime(2026, 10, 12, 11, 30, tzinfo=UTC)


def test_json_values_validate_like_csv_strings() -> None:
    raw = {
        "event_id": "e1",
        "student_id": "stu-1",
        "item_id": "i-1",
        "night": "2026-10-12",
        "submitted_at": "2026-10-12T19:30:00+08:00",
        "correct": True,
        "seconds": 300,
    }
    record, errors = validate_record(ATTEMPTS, raw, _known())
    assert errors == [] and isinstance(record, Attempt)
    assert record.night == date(2026, 10, 12) and record.seconds == 300 and record.source == "app"
    record, errors = validate_record(ATTEMPTS, {**raw, "seconds": 1.5, "correct": "maybe"}, _known())
    assert record is None and [c for c, _ in errors] == ["correct", "seconds"]
    assert all(e.zh and e.en for _, e in errors)


def test_missing_required_values_are_named() -> None:
    record, errors = validate_record(STUDENTS, {"student_id": "stu-2", "class_id": " "}, _known())
    assert record is None
    assert [(c, e.en) for c, e in errors] == [("class_id", "a value is required (class_id)")]
