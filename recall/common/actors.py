"""Who is calling: the staff member, their role and their clinic."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from recall.common.errors import Forbidden


class Role(str, enum.Enum):
    OPERATOR = "operator"
    FRONTDESK = "frontdesk"
    MANAGER = "manager"


@dataclass(frozen=True)
class Actor:
    staff_id: int
    clinic_id: int
    role: Role

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this action needs the role {allowed}; you are {self.role.value}")

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER
