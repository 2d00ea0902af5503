"""Account rules: e-mails, handles, passwords."""

from __future__ import annotations

import pytest

from server.domain.accounts import check_password, normalise_email, suggest_handle
from server.domain.errors import Invalid


def test_emails_are_compared_lower_cased() -> None:
    assert normalise_email("  Amina@Regulator.EXAMPLE ") == "amina@regulator.example"
    for bad in ("no-at-sign", "a@b", "two@@example.org", "spa ce@example.org", ""):
        with pytest.raises(Invalid):
            normalise_email(bad)


@pytest.mark.parametrize(
    ("email", "handle"),
    [
        ("x@example.org", "x-user"),
        ("Jean.Dupont@arcep.fr", "jean.dupont"),
        ("__@e.org", "member-user"),
    ],
)
def test_suggested_handles_are_valid(email: str, handle: str) -> None:
    assert suggest_handle(email) == handle


def test_password_rules_name_the_field() -> None:
    for password, email in (("short", "a@b.org"), ("a@b.org-ok!", "a@b.org-ok!")):
        with pytest.raises(Invalid) as error:
            check_password(password, email=email)
        assert set(error.value.fields) == {"password"}
    check_password("long enough password", email="a@b.org")
