import pytest
from pydantic import ValidationError

from domain.access import Principal, Role


def test_agency_user_must_name_agency() -> None:
    with pytest.raises(ValidationError, match="agency users must name their agency"):
        Principal(subject="a", role=Role.AGENCY)


def test_only_agency_users_have_an_agency() -> None:
    with pytest.raises(ValidationError, match="only agency users"):
        Principal(subject="a", role=Role.REFERRER, agency_id="cab")


def test_admin_holds_every_role_others_only_their_own() -> None:
    admin = Principal(subject="a", role=Role.ADMIN)
    ops = Principal(subject="o", role=Role.OPERATIONS)
    assert admin.has_role(Role.COORDINATOR)
    assert ops.has_role(Role.OPERATIONS, Role.COORDINATOR)
    assert not ops.has_role(Role.COORDINATOR)
