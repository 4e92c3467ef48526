"""Logs never carry a full ID number, phone number or a patient's name."""

import io
import json
import logging

from kiosk import logging_setup


def test_masks_id_numbers_names_and_phones() -> None:
    stream = io.StringIO()
    handler = logging_setup.setup("INFO", stream)
    try:
        log = logging.getLogger("kiosk.test")
        log.info("resolved %s phone 13812345678", "11010519491231002X", extra={"patient_name": "张三丰", "kiosk": "K01"})
        log.warning("card 110105194912310021 read", extra={"detail": "id 11010519491231002X"})
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    text = stream.getvalue()
    assert "11010519491231002X" not in text and "110105194912310021" not in text
    assert "张三丰" not in text and "13812345678" not in text
    assert lines[0]["msg"] == "resolved 110***********002X phone 138****5678"
    assert lines[0]["patient_name"] == "张*丰" and lines[0]["kiosk"] == "K01"
    assert lines[1]["detail"] == "id 110***********002X"
