"""Who is calling: the staff member, their role and their clinic; or the system itself, acting for a clinic.

The system actor (``Actor.system``) is what setup, the worker and Twilio's webhooks act as: it is nobody on
the staff (``staff_id`` None), so the use cases credit nobody for what it does, and it is never a role a staff
member can hold (``STAFF_ROLES``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from recall.common.errors import Forbidden


class Role(str, enum.Enum):
    OPERATOR = "operator"
    FRONTDESK = "frontdesk"
    MANAGER = "manager"
    SYSTEM = "system"  # not a staff member's: the system acting for a clinic


STAFF_ROLES = (Role.OPERATOR, Role.FRONTDESK, Role.MANAGER)


@dataclass(frozen=True)
class Actor:
    staff_id: int | None  # None: the system
    clinic_id: int
    role: Role

    @classmethod
    def system(cls, clinic_id: int) -> Actor:
        return cls(staff_id=None, clinic_id=clinic_id, role=Role.SYSTEM)

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this action needs the role {allowed}; you are {self.role.value}")

    @property
    def member_id(self) -> int:
        """The staff member's id, for what only a staff member does (holds a lease, has earnings)."""
        if self.staff_id is None:
            raise Forbidden("this needs a staff member; the system is none")
        return self.staff_id

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER
