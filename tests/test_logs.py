"""Logs are one JSON object per line, with the fields a log pipeline filters on."""

from __future__ import annotations

import logging

import orjson

from server.logs import JSONFormatter


def test_records_render_as_json_with_extra_fields() -> None:
    record = logging.LogRecord("gnrp.access", logging.INFO, __file__, 1, "request", (), None)
    record.status = 404
    record.path = "/api/nothing"
    line = JSONFormatter().format(record)
    entry = orjson.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "gnrp.access"
    assert entry["message"] == "request"
    assert (entry["status"], entry["path"]) == (404, "/api/nothing")
    assert "\n" not in line


def test_exceptions_are_kept_in_one_line() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        import sys

        record = logging.LogRecord("gnrp", logging.ERROR, __file__, 1, "crash", (), sys.exc_info())
    entry = orjson.loads(JSONFormatter().format(record))
    assert "ValueError: bad" in entry["exception"]
