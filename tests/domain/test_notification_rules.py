"""Who a message mentions, and the pure rules of notices and digests."""

from __future__ import annotations

from server.domain.digest import check_unsubscribe_token, digest_message_id, unsubscribe_token
from server.domain.notifications import excerpt, mentioned_handles, most_specific_level


def test_mentions_are_handles_after_an_at_outside_code_and_words() -> None:
    body = (
        "Thanks @Amara_K, @amara_k again and @li.wei. Mail ops@regulator.go.ke or a@b.\n\n"
        "`@inline-code` and\n\n```\n@fenced\n```\n\n> quoting @quoted\n\n@x is too short."
    )
    assert mentioned_handles(body) == ["amara_k", "li.wei", "quoted"]
    assert mentioned_handles("no one") == []
    assert len(mentioned_handles(" ".join(f"@user{n}" for n in range(80)))) == 50


def test_the_most_specific_follow_wins() -> None:
    assert most_specific_level(["mute", "live"]) == "mute"
    assert most_specific_level([None, "digest"]) == "digest"
    assert most_specific_level([None, None]) is None


def test_excerpts_are_one_line_and_bounded() -> None:
    assert excerpt("a\n\n b  c") == "a b c"
    long = excerpt("word " * 200)
    assert len(long) <= 280 and long.endswith("…")


def test_message_ids_are_fixed_per_user_and_period_and_tokens_are_signed() -> None:
    first = digest_message_id("s", user_id=7, period="2026-12-03", domain="gnrp.test")
    assert first == digest_message_id("s", user_id=7, period="2026-12-03", domain="gnrp.test")
    assert first != digest_message_id("s", user_id=7, period="2026-12-04", domain="gnrp.test")
    assert first != digest_message_id("s", user_id=8, period="2026-12-03", domain="gnrp.test")
    assert first.startswith("<digest.2026-12-03.7.") and first.endswith("@gnrp.test>")
    token = unsubscribe_token("s", 7)
    assert check_unsubscribe_token("s", token) == 7
    assert check_unsubscribe_token("other secret", token) is None
    assert check_unsubscribe_token("s", "8" + token[1:]) is None
    assert check_unsubscribe_token("s", "9" * 40 + ".x") is None
