import re

import pytest
from django.core.exceptions import ValidationError

from customers.phones import mask_phone, normalize_phone
from portal.forms import SubscribeForm


@pytest.mark.parametrize("raw", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "008613800138000"])
def test_chinese_mobile_numbers_are_stored_in_e164(raw):
    assert normalize_phone(raw) == "+8613800138000"


@pytest.mark.parametrize("raw", ["12345", "not a number", "1380013800"])
def test_invalid_numbers_are_refused_with_the_number_in_the_message(raw):
    with pytest.raises(ValidationError) as error:
        normalize_phone(raw)

    assert raw in error.value.messages[0]


def test_mask_keeps_only_prefix_and_last_four_digits():
    assert mask_phone("+8613800138000") == "+86 138****8000"


def test_the_subscribe_forms_example_numbers_are_accepted():
    hint = SubscribeForm(data={"channel": "sms", "phone": "555"}, components=[])
    hint.is_valid()
    examples = re.findall(r"[+\d][\d ]{9,}\d", hint.errors["phone"][0])

    accepted = [SubscribeForm(data={"channel": "sms", "phone": e}, components=[]).is_valid() for e in examples]

    assert len(examples) == 2
    assert accepted == [True, True]
