"""Users (admin) and the signed-in user's own account."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import or_, select

from dispatch.access import sessions, users
from dispatch.access.auth import password_or_token_user, require
from dispatch.api.common import Blueprint, actor, page_of, paginate, with_extra
from dispatch.extensions import db
from dispatch.models import User
from dispatch.schemas.users import (
    PasswordChangeSchema,
    PasswordResetSchema,
    SessionSchema,
    SessionsEndedSchema,
    UserCreatedSchema,
    UserCreateSchema,
    UserQuery,
    UserSchema,
    UserUpdateSchema,
)

blp = Blueprint("users", __name__, url_prefix="/api", description="Staff accounts and roles")


@blp.route("/users")
class Users(MethodView):
    @require("user.manage")
    @blp.arguments(UserQuery, location="query")
    @blp.response(200, page_of(UserSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List users."""
        stmt = select(User).order_by(User.username)
        if args.get("active") is not None:
            stmt = stmt.where(User.active.is_(args["active"]))
        if args.get("q"):
            like = f"%{args['q'].lower()}%"
            stmt = stmt.where(or_(User.username.like(like), User.full_name.ilike(like)))
        page = paginate(stmt, args)
        if args.get("role"):
            # Roles live in a JSON list; filtering a staff-sized table in Python is fine.
            page["items"] = [u for u in page["items"] if args["role"] in u.roles]
        return page

    @require("user.manage")
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserCreatedSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a user; without a password, a one-time password is generated and returned."""
        user, generated = users.create_user(
            data["username"], data["roles"], actor=actor(), password=data["password"],
            full_name=data["full_name"], email=data["email"],
        )
        db.session.commit()
        return with_extra(user, UserSchema, one_time_password=generated)


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @require("user.manage")
    @blp.response(200, UserSchema)
    def get(self, user_id: int) -> User:
        """Show a user."""
        return users.get_user(user_id)

    @require("user.manage")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data: dict[str, Any], user_id: int) -> User:
        """Change roles, name, e-mail, or deactivate a user."""
        user = users.update_user(users.get_user(user_id), actor=actor(), **data)
        db.session.commit()
        return user


@blp.route("/users/<int:user_id>/password-reset")
class UserPasswordReset(MethodView):
    @require("user.manage")
    @blp.response(200, PasswordResetSchema)
    def post(self, user_id: int) -> dict[str, str]:
        """Set a new one-time password for a user and return it."""
        password = users.reset_password(users.get_user(user_id), actor=actor())
        db.session.commit()
        return {"one_time_password": password}


@blp.route("/me")
class Me(MethodView):
    @require("self")
    @blp.response(200, UserSchema)
    def get(self) -> User:
        """Show the signed-in user."""
        return actor()


@blp.route("/me/password")
class MyPassword(MethodView):
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.doc(security=[{"bearer": []}, {"basic": []}])
    def put(self, data: dict[str, Any]) -> None:
        """Change your password (also with Basic credentials, to replace a one-time password).

        Every session of the account ends but the one making the call, if any.
        """
        user = password_or_token_user(allow_must_change=True)
        record = sessions.current()
        users.change_password(user, data["current_password"], data["new_password"],
                              revoke_tokens=data["revoke_tokens"],
                              keep_session=record.id if record else None)
        db.session.commit()


def _listed(user: User) -> list[dict[str, Any]]:
    record = sessions.current()
    return [{"id": s.id, "created_at": s.created_at, "last_seen_at": s.last_seen_at,
             "ip": s.ip, "user_agent": s.user_agent,
             "current": record is not None and s.id == record.id}
            for s in sessions.active(user)]


@blp.route("/me/sessions")
class MySessions(MethodView):
    @require("self")
    @blp.response(200, SessionSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """List the browsers signed in as you."""
        return _listed(actor())

    @require("self")
    @blp.response(200, SessionsEndedSchema)
    def delete(self) -> dict[str, int]:
        """Sign out of every browser but the one making this call."""
        record = sessions.current()
        count = sessions.end_everywhere(actor(), actor=actor(),
                                        keep=record.id if record else None)
        db.session.commit()
        return {"ended": count}


@blp.route("/me/sessions/<int:session_id>")
class MySession(MethodView):
    @require("self")
    @blp.response(204)
    def delete(self, session_id: int) -> None:
        """End one of your sessions."""
        sessions.end_one(actor(), session_id, actor=actor())
        db.session.commit()


@blp.route("/users/<int:user_id>/sessions")
class UserSessions(MethodView):
    @require("user.manage")
    @blp.response(200, SessionSchema(many=True))
    def get(self, user_id: int) -> list[dict[str, Any]]:
        """List a user's live sessions."""
        return _listed(users.get_user(user_id))

    @require("user.manage")
    @blp.response(200, SessionsEndedSchema)
    def delete(self, user_id: int) -> dict[str, int]:
        """Sign a user out of every browser."""
        count = sessions.end_everywhere(users.get_user(user_id), actor=actor())
        db.session.commit()
        return {"ended": count}

