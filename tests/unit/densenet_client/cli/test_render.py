"""The CLI's table and JSON lines."""

from __future__ import annotations

import json

from densenet_client import InvalidImage, Prediction
from densenet_client.cli.render import failure_line, json_line, table_header, table_rows

PREDICTIONS = [Prediction("tabby, tabby cat", 0.41234, 281), Prediction("tiger cat", 0.2, 282)]


def test_table_columns_line_up_and_name_the_image_once():
    width = len("photos/cat.jpg")
    lines = [table_header(width), *table_rows("photos/cat.jpg", PREDICTIONS, width)]
    assert lines == [
        "IMAGE            #  PROBABILITY  CLASS  LABEL",
        "photos/cat.jpg   1       41.23%    281  tabby, tabby cat",
        "                 2       20.00%    282  tiger cat",
    ]


def test_json_lines_for_results_and_failures():
    record = json.loads(json_line("cat.jpg", PREDICTIONS))
    assert record == {
        "image": "cat.jpg",
        "predictions": [
            {"label": "tabby, tabby cat", "probability": 0.41234, "class_id": 281},
            {"label": "tiger cat", "probability": 0.2, "class_id": 282},
        ],
    }
    failure = json.loads(json_line("bad.jpg", InvalidImage("not a recognised image format")))
    assert failure == {
        "image": "bad.jpg",
        "error": {"type": "InvalidImage", "message": "not a recognised image format"},
    }
    assert "\n" not in json_line("x", PREDICTIONS)


def test_failure_line_names_path_and_reason():
    assert failure_line("bad.jpg", InvalidImage("truncated JPEG")) == "error: bad.jpg: truncated JPEG"
