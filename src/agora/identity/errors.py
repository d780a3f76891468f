"""Errors of the identity module (see `agora.platform.errors` for the tree)."""

from agora.platform.errors import Conflict, Forbidden, NotFound, RuleViolation, Unauthorized


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this email already exists."


class UndeliverableEmail(RuleViolation):
    code = "undeliverable_email"
    default_message = "This address is on a reserved domain that receives no mail."


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    default_message = "Invalid email or password."


class RefreshRejected(Unauthorized):
    code = "invalid_refresh_token"
    default_message = "The refresh token is invalid, expired or revoked; sign in again."


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"
    default_message = "The API key is invalid, expired or revoked."


class WeakPassword(RuleViolation):
    code = "weak_password"
    default_message = "The password is too weak."


class WrongCurrentPassword(RuleViolation):
    code = "current_password_incorrect"
    default_message = "The current password is not correct."


class LastAdmin(RuleViolation):
    code = "last_admin"
    default_message = "Agora needs at least one admin; promote another user first."


class RoleChangeForbidden(Forbidden):
    code = "role_change_forbidden"
    default_message = "Only an admin can change roles."


class UserNotFound(NotFound):
    code = "user_not_found"
    default_message = "No such user."


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    default_message = "No such API key."
