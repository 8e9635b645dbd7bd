"""Staff members and their API tokens. Managers run them; anyone may see and revoke their own tokens."""

from __future__ import annotations

from typing import Any

from recall.clinic import staff as staff_uc
from recall.common.errors import Forbidden
from recall.web.auth import any_staff, manager_only
from recall.web.common import actor, clock, page_of, page_schema, session
from recall.web.contract import Blueprint, may_answer
from recall.web.staff.schemas import (
    IssuedTokenSchema,
    StaffCreateSchema,
    StaffListArgs,
    StaffSchema,
    StaffUpdateSchema,
    TokenCreateSchema,
    TokenSchema,
)

blp = Blueprint("staff", __name__, description="Staff members and their tokens")


def _self_or_manager(staff_id: int) -> None:
    if staff_id != actor().staff_id and not actor().is_manager:
        raise Forbidden("only a manager may see another staff member")


@blp.route("/me", methods=["GET"])
@any_staff
@blp.response(200, StaffSchema)
def me() -> Any:
    """The caller's own staff record."""
    return staff_uc.get_staff(session(), actor().clinic_id, actor().member_id)


@blp.route("/staff", methods=["GET"])
@manager_only
@blp.arguments(StaffListArgs, location="query")
@blp.response(200, page_schema(StaffSchema))
def list_staff(args: dict[str, Any]) -> Any:
    return page_of(staff_uc.list_staff(actor().clinic_id, role=args.get("role"), active=args.get("active")), args)


@blp.route("/staff", methods=["POST"])
@manager_only
@blp.arguments(StaffCreateSchema)
@blp.response(201, StaffSchema)
def create_staff(data: dict[str, Any]) -> Any:
    return staff_uc.create_staff(session(), clock(), actor(), name=data["name"], role=data["role"], email=data["email"])


@blp.route("/staff/<int:staff_id>", methods=["GET"])
@may_answer(403)
@any_staff
@blp.response(200, StaffSchema)
def get_staff(staff_id: int) -> Any:
    _self_or_manager(staff_id)
    return staff_uc.get_staff(session(), actor().clinic_id, staff_id)


@blp.route("/staff/<int:staff_id>", methods=["PATCH"])
@manager_only
@blp.arguments(StaffUpdateSchema)
@blp.response(200, StaffSchema)
def update_staff(data: dict[str, Any], staff_id: int) -> Any:
    return staff_uc.update_staff(session(), actor(), staff_id, name=data.get("name"), active=data.get("active"))


@blp.route("/staff/<int:staff_id>/tokens", methods=["GET"])
@may_answer(403)
@any_staff
@blp.response(200, TokenSchema(many=True))
def list_tokens(staff_id: int) -> Any:
    _self_or_manager(staff_id)
    return staff_uc.list_tokens(session(), staff_uc.get_staff(session(), actor().clinic_id, staff_id))


@blp.route("/staff/<int:staff_id>/tokens", methods=["POST"])
@manager_only
@blp.arguments(TokenCreateSchema)
@blp.response(201, IssuedTokenSchema)
def issue_token(data: dict[str, Any], staff_id: int) -> Any:
    member = staff_uc.get_staff(session(), actor().clinic_id, staff_id)
    issued = staff_uc.issue_token(session(), clock(), member, data["label"])
    token = issued.token
    return {
        "id": token.id,
        "staff_id": token.staff_id,
        "hint": token.hint,
        "label": token.label,
        "created_at": token.created_at,
        "revoked_at": None,
        "token": issued.secret,
    }


@blp.route("/staff/<int:staff_id>/tokens/<int:token_id>", methods=["DELETE"])
@may_answer(403)
@any_staff
@blp.response(200, TokenSchema)
def revoke_token(staff_id: int, token_id: int) -> Any:
    return staff_uc.revoke_token(session(), clock(), actor(), staff_id, token_id)
