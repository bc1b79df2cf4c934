"""List filters read strictly (``agency.api.filters``): an id filter given something that is no id is a 400
naming it, not a 500."""

from __future__ import annotations

import pytest

from tests.agency.api.helpers import field_errors

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("order", ["-2.66e+240", "1.5", "0", "99999999999999999999"])
def test_an_order_filter_that_is_no_id_is_400_not_500(api, supervisor, case_in, order):
    case = case_in("evidence")
    response = api(supervisor).get(f"/api/v1/cases/{case.pk}/evidence/", {"order": order})
    assert "order" in field_errors(response)
