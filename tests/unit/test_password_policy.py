import pytest

from agora.identity.domain import check_password, common_passwords, normalize_email
from agora.identity.errors import WeakPassword


def test_the_list_is_shipped_and_large() -> None:
    words = common_passwords()
    assert len(words) > 19_000
    assert {"123456", "password", "qwerty"} <= words


@pytest.mark.parametrize("password", ["password1", "PASSWORD1", "letmein1", "iloveyou"])
def test_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_password(password, email="someone@example.com")


@pytest.mark.parametrize(
    "password", ["jonathan.smith", "Jonathan.Smith1", "jonathan.smith@example.com"]
)
def test_passwords_from_the_email_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_password(password, email="jonathan.smith@example.com")


def test_a_good_password_passes() -> None:
    check_password("plum-orbit-lantern-42", email="jonathan.smith@example.com", name="Jon")


def test_emails_are_normalized() -> None:
    assert normalize_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
