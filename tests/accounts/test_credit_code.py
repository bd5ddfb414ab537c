import pytest

from accounts import credit_code
from accounts.models import Organisation

REAL_CODES = ["91350100M000100Y43", "91110108551385082Q", "91440300708461136T"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_published_credit_codes_validate(code):
    assert credit_code.validate(code) == code


def test_lowercase_and_spaces_are_normalised():
    assert credit_code.validate(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y44", "check character is 4, expected 3"),
        ("91350100M000100Y4", "must be 18 characters, got 17"),
        ("91350100M000100Y433", "must be 18 characters, got 19"),
        ("91350100M0001O0Y43", "not allowed in a credit code: O"),
        ("913501I0M000100Y43", "not allowed in a credit code: I"),
        ("91ABCDEFM000100Y43", "administrative division"),
        ("", "must be 18 characters, got 0"),
    ],
)
def test_invalid_credit_code_is_refused_with_the_reason(code, reason):
    with pytest.raises(credit_code.InvalidCreditCode, match=reason):
        credit_code.validate(code)


def test_every_single_character_change_is_caught():
    code = REAL_CODES[0]
    for i in range(18):
        for c in credit_code.ALPHABET:
            if c == code[i]:
                continue
            changed = code[:i] + c + code[i + 1 :]
            if i in range(2, 8) and not c.isdigit():
                continue
            with pytest.raises(credit_code.InvalidCreditCode):
                credit_code.validate(changed)


def test_make_completes_a_prefix_with_its_check_character():
    assert credit_code.make("91350100M000100Y4") == "91350100M000100Y43"


@pytest.mark.django_db
def test_organisation_model_validation_refuses_an_invalid_code():
    from django.core.exceptions import ValidationError

    org = Organisation(name="x", credit_code="91350100M000100Y44", kind="bidder")
    with pytest.raises(ValidationError) as exc:
        org.full_clean()
    assert "credit_code" in exc.value.message_dict
