"""redaction.py, the one output-boundary scrubber: registered secrets in every form they travel
in, URL userinfo, and text a server sent made safe for a terminal and XML. Each test registers
its own unique values (the registry is process-wide and only grows)."""
from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from ci_gen.redaction import MASK, public_url, register, register_login, scrub, scrub_data, url_secret


def secret(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex}"


def test_a_secret_is_masked_as_is_percent_encoded_and_decoded() -> None:
    value = secret("p@ss/w rd")
    register(value)
    for form in (value, quote(value, safe="")):
        assert scrub(f"error: {form}!") == f"error: {MASK}!"


def test_an_http_basic_login_is_masked_as_the_header_a_server_echoes() -> None:
    password = secret("pw")
    register_login("robot", password)
    header = base64.b64encode(f"robot:{password}".encode()).decode()
    assert scrub(f"Authorization: Basic {header}") == f"Authorization: Basic {MASK}"
    assert "robot" in scrub("user robot")  # the user name alone is no secret


def test_a_secret_inside_a_longer_one_never_leaves_a_piece_of_the_longer() -> None:
    short = secret("k")
    register(short, short + "-and-more")
    assert scrub(f"[{short}-and-more]") == f"[{MASK}]"


def test_blank_and_missing_values_register_nothing() -> None:
    register(None, "", "   ")
    assert scrub("a   b") == "a   b"


def test_userinfo_goes_from_every_url_and_the_secret_part_is_found() -> None:
    assert public_url("https://user:p%40ss@gitlab.example/a.git") == "https://gitlab.example/a.git"
    assert scrub("clone git+ssh://tok@h/x failed") == "clone git+ssh://h/x failed"
    assert url_secret("https://user:p%40ss@h/x") == "p@ss"
    assert url_secret("https://glpat-token@h/x") == "glpat-token"
    assert url_secret("https://h/x") is None and url_secret("https://@h/x") is None


def test_terminal_controls_and_reordering_characters_are_removed() -> None:
    shown = scrub("\x1b]8;;https://evil\x1b\\link\x1b]8;;\x1b\\ \x1b[2Jok\r\u202eevil\u2066 \x85\x00done\n\tx")
    assert shown == "link okevil done\n\tx"


def test_scrub_data_reaches_every_string_and_keeps_the_shape() -> None:
    value = secret("tok")
    register(value)
    data = {"a": [value, 1, None, {"b": (f"x{value}",)}], "c": True}
    assert scrub_data(data) == {"a": [MASK, 1, None, {"b": [f"x{MASK}"]}], "c": True}
    json.dumps(scrub_data(data))  # still JSON


@settings(deadline=None)  # a loaded CI machine must not turn a pause into a failure
@given(st.text(max_size=200))
def test_scrubbed_text_is_safe_for_xml_and_a_terminal_and_stable(text: str) -> None:
    once = scrub(text)
    assert scrub(once) == once
    assert not any(ord(c) < 0x20 and c not in "\t\n" for c in once)
    assert not any(0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in once)
    assert "\ufffe" not in once and "\uffff" not in once
