import base64
import json
import logging
import urllib.parse

from keyz.redact import MASK, RedactingFilter, Redactor, quiet_third_party_loggers

SECRET = "my-unprefixed-mistral-style-secret-0123"


def test_exact_value_and_encoded_forms_are_masked() -> None:
    redactor = Redactor()
    redactor.add(SECRET)
    for shown in (
        SECRET,
        urllib.parse.quote(SECRET + "/é", safe=""),
        json.dumps({"k": SECRET}),
    ):
        assert SECRET not in redactor(shown)
        assert MASK in redactor(shown)


def test_secret_inside_longer_base64_is_masked_at_any_alignment() -> None:
    redactor = Redactor()
    redactor.add(SECRET)
    for prefix in ("", "u:", "us:", "user:"):
        blob = base64.b64encode(f"{prefix}{SECRET}".encode()).decode()
        assert MASK in redactor(f"Authorization: Basic {blob}"), prefix


def test_known_key_shapes_are_masked_without_registration() -> None:
    redactor = Redactor()
    samples = [
        "sk-or-v1-" + "ab" * 32,
        "sk-ant-admin01-" + "x" * 93 + "AA",
        "xai-" + "Q" * 80,
        "gsk_" + "a" * 52,
        "sk-" + "z" * 32,
    ]
    for sample in samples:
        assert redactor(f"echo: {sample}!") == f"echo: {MASK}!"


def test_short_values_are_not_registered_so_words_survive() -> None:
    redactor = Redactor()
    redactor.add("usd")
    assert redactor("USD usd") == "USD usd"


def test_logging_filter_masks_message_args_and_traceback() -> None:
    from keyz.redact import REDACTOR

    REDACTOR.add(SECRET)
    try:
        raise ValueError(f"provider said {SECRET}")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "key %s", (SECRET,), exc_info=None
        )
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert SECRET not in record.getMessage()
    assert record.exc_text is not None and SECRET not in record.exc_text and MASK in record.exc_text


def test_third_party_loggers_are_kept_at_warning() -> None:
    for name in ("httpx", "httpcore", "gnupg"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    quiet_third_party_loggers()
    assert all(
        logging.getLogger(n).getEffectiveLevel() >= logging.WARNING
        for n in ("httpx", "httpcore", "gnupg")
    )
