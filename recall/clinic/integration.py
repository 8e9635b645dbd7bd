"""A clinic's wiring to its CRM: the secret that signs launch links, and the origins that may frame the console.

Launch links (issued by the CRM, checked here) open the console for one staff member: an HMAC-SHA256 over the
clinic, the staff member, the expiry and a nonce, with the clinic's launch secret; each is used once
(``launch_nonces``). The manager rotates the secret; the previous one keeps working for a grace period.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from recall.common.db import Base, UTCDateTime


class ClinicIntegration(Base):
    __tablename__ = "clinic_integrations"

    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), primary_key=True)
    launch_secret: Mapped[str | None] = mapped_column(sa.String(200))
    previous_launch_secret: Mapped[str | None] = mapped_column(sa.String(200))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Space-separated origins (https://crm.example.com) for CSP frame-ancestors; empty: nobody may frame it.
    frame_ancestors: Mapped[str] = mapped_column(sa.Text(), default="", server_default="")


class LaunchNonce(Base):
    __tablename__ = "launch_nonces"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    nonce: Mapped[str] = mapped_column(sa.String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.UniqueConstraint("clinic_id", "nonce", name="uq_launch_nonce"),)
