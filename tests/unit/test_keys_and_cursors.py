"""Pure checks of the key format and the cursor codec."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.auth import keys
from helpline.kit.cursor import InvalidCursor, decode_cursor, decode_keyset, encode_cursor

pytestmark = pytest.mark.unit


class TestApiKeyFormat:
    def test_generated_key_shape(self):
        key = keys.generate_key()
        assert key.startswith("hl_")
        assert len(key) == 3 + 40 + 6
        assert keys.is_well_formed(key)

    def test_keys_are_unique(self):
        assert len({keys.generate_key() for _ in range(200)}) == 200

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),
            lambda k: k[:10] + ("x" if k[10] != "x" else "y") + k[11:],
            lambda k: k.replace("hl_", "hk_"),
            lambda k: k + "0",
            lambda k: k[:-1],
            lambda k: k[:20] + "-" + k[21:],
        ],
    )
    def test_tampered_keys_fail_the_checksum(self, mutate):
        assert not keys.is_well_formed(mutate(keys.generate_key()))

    @given(st.text(max_size=80))
    def test_random_text_is_never_well_formed(self, text):
        assert not keys.is_well_formed(text) or text.startswith("hl_")

    def test_hash_depends_on_pepper(self):
        key = keys.generate_key()
        assert keys.hash_key(b"a", key) != keys.hash_key(b"b", key)
        assert len(keys.hash_key(b"a", key)) == 32

    def test_display_prefix_hides_most_of_the_secret(self):
        key = keys.generate_key()
        assert keys.display_prefix(key) == key[:11]


class TestCursor:
    @given(st.lists(st.one_of(st.text(max_size=30), st.integers()), min_size=1, max_size=3))
    def test_round_trip(self, values):
        c = encode_cursor(b"s", "-updated_at", values)
        if len(c) > 512:  # the decoder's bound (real cursors, a timestamp and an id, are ~110)
            with pytest.raises(InvalidCursor, match="too long"):
                decode_cursor(b"s", "-updated_at", c)
        else:
            assert decode_cursor(b"s", "-updated_at", c) == values

    def test_other_secret_rejected(self):
        c = encode_cursor(b"s", "x", ["a"])
        with pytest.raises(InvalidCursor):
            decode_cursor(b"t", "x", c)

    def test_other_sort_rejected(self):
        c = encode_cursor(b"s", "x", ["a"])
        with pytest.raises(InvalidCursor):
            decode_cursor(b"s", "y", c)

    @given(st.text(max_size=100))
    def test_garbage_raises_invalid_cursor_only(self, garbage):
        with pytest.raises(InvalidCursor):
            decode_cursor(b"s", "x", garbage)


class TestKeysetCursor:
    def test_round_trip(self):
        c = encode_cursor(b"s", "-updated_at", ["2026-11-20T09:15:02+00:00", str(uuid.UUID(int=7))])
        ts, ident = decode_keyset(b"s", "-updated_at", c, uuid.UUID)
        assert ts.isoformat() == "2026-11-20T09:15:02+00:00"
        assert ident == uuid.UUID(int=7)

    @pytest.mark.parametrize(
        "values", [["not a time", "x"], ["2026-11-20T09:15:02+00:00"], [1, 2, 3]]
    )
    def test_signed_but_malformed_content_is_invalid(self, values):
        c = encode_cursor(b"s", "x", values)
        with pytest.raises(InvalidCursor):
            decode_keyset(b"s", "x", c, uuid.UUID)
