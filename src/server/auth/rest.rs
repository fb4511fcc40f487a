//! Accounts, sessions and API tokens over REST: the same changes Settings
//! makes, through the same change path (`Idempotency-Key` is the op id,
//! `If-Match` the account's version).

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{accounts, tokens};
use crate::{
    error::AppError,
    model::{
        AccountsSnapshot, ApiToken, Change, CreatedToken, EventBody, Op, OpAck, Role, Secret,
        SessionRow, User,
    },
    server::core::{
        apidoc::{self, Rule},
        change,
        http::{run_change, versioned, IdempotencyKey, IfMatch, Json, Path},
        Core, CurrentUser,
    },
};

/// The input rules of accounts, as the document states them.
pub fn doc_rules() -> Vec<Rule> {
    let email = || apidoc::email();
    let password = || apidoc::password();
    let current = || serde_json::json!({"maxLength": crate::model::MAX_PASSWORD_CHARS});
    vec![
        Rule::new("NewUser", "email", email()),
        Rule::new("NewUser", "password", password()),
        Rule::new("PasswordChange", "new", password()),
        Rule::new("PasswordChange", "current", current()),
        Rule::new("NewToken", "name", apidoc::name(80)),
        Rule::variant("Change", "create_user", "email", email()),
        Rule::variant("Change", "create_user", "password", password()),
        Rule::variant("Change", "change_password", "new", password()),
        Rule::variant("Change", "change_password", "current", current()),
    ]
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_users, create_user, update_user, list_sessions, end_session, change_password,
        list_tokens, create_token, revoke_token
    ),
    tags((name = "accounts", description = "Operator accounts, sessions and API tokens"))
)]
pub struct AccountsDoc;

fn user_of(ack: &OpAck) -> Result<&User, AppError> {
    match &ack.event.body {
        EventBody::UserUpserted { user } => Ok(user),
        _ => Err(AppError::internal()),
    }
}

/// Applies one change a request asks for; the answer is 204.
async fn apply_no_content(
    core: &Core,
    user: &CurrentUser,
    key: &IdempotencyKey,
    change: Change,
) -> Result<StatusCode, AppError> {
    run_change(core, user, key, None, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's accounts (admins), or your own, with the sessions
/// you may end.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, body = AccountsSnapshot), (status = 401, body = AppError)))]
pub(super) async fn list_users(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Json<AccountsSnapshot>, AppError> {
    Ok(Json(accounts::snapshot(&core.db, &user).await?))
}

/// An account to add (admins). Without `id`, one is made.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUser {
    pub id: Option<String>,
    pub email: String,
    pub role: Role,
    /// The first password (8 characters or more); the operator changes it.
    pub password: String,
}

/// Adds an operator account.
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = NewUser,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = User), (status = 403, body = AppError), (status = 409, body = AppError),
              (status = 422, body = AppError)))]
pub(super) async fn create_user(
    State(core): State<Core>,
    user: CurrentUser,
    key: IdempotencyKey,
    Json(body): Json<NewUser>,
) -> Result<Response, AppError> {
    let change = Change::CreateUser {
        user_id: body.id.unwrap_or_else(|| key.new_entity_id(0)),
        email: body.email,
        role: body.role,
        password: Secret(body.password),
    };
    let ack = run_change(&core, &user, &key, None, change).await?;
    let made = user_of(&ack)?;
    Ok(versioned(StatusCode::CREATED, made.version, made))
}

/// What to change about an account: its role, whether it is active, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub role: Option<Role>,
    /// `false` deactivates (sessions end, tokens are revoked); `true` lets
    /// the account sign in again.
    pub active: Option<bool>,
}

/// Changes an account's role or deactivates/reactivates it (admins).
/// `If-Match` is required.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts", request_body = UserPatch,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The version the change is made against"),
           ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = User), (status = 403, body = AppError), (status = 404, body = AppError),
              (status = 409, body = AppError), (status = 422, body = AppError)))]
pub(super) async fn update_user(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
    IfMatch(base): IfMatch,
    Json(patch): Json<UserPatch>,
) -> Result<Response, AppError> {
    let mut changes = Vec::new();
    if let Some(role) = patch.role {
        changes.push(Change::ChangeRole {
            user_id: id.clone(),
            role,
        });
    }
    match patch.active {
        Some(false) => changes.push(Change::DeactivateUser {
            user_id: id.clone(),
        }),
        Some(true) => changes.push(Change::ReactivateUser {
            user_id: id.clone(),
        }),
        None => {}
    }
    if changes.is_empty() {
        // An empty patch changes nothing: the account as it is.
        let current = accounts::get(&core.db, &user, &id).await?;
        return Ok(versioned(StatusCode::OK, current.version, &current));
    }
    let mut version = base;
    let mut latest = None;
    for (n, change) in changes.into_iter().enumerate() {
        let op = Op {
            op_id: key.nth(n),
            base_version: Some(version),
            change,
        };
        let ack = change::apply(&core, &user, op).await?;
        let changed = user_of(&ack)?.clone();
        version = changed.version;
        latest = Some(changed);
    }
    let changed = latest.ok_or_else(AppError::internal)?;
    Ok(versioned(StatusCode::OK, changed.version, &changed))
}

/// The sessions you may end: all of the organization's (admins) or yours.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "accounts",
    responses((status = 200, body = Vec<SessionRow>), (status = 401, body = AppError)))]
pub(super) async fn list_sessions(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Json<Vec<SessionRow>>, AppError> {
    Ok(Json(accounts::snapshot(&core.db, &user).await?.sessions))
}

/// Signs a session out; its open pages go to the sign-in page.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "accounts",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 403, body = AppError), (status = 404, body = AppError)))]
pub(super) async fn end_session(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
) -> Result<StatusCode, AppError> {
    apply_no_content(&core, &user, &key, Change::EndSession { session_id: id }).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current: String,
    /// 8 characters or more.
    pub new: String,
}

/// Changes your own password; your other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "accounts", request_body = PasswordChange,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 403, body = AppError), (status = 422, body = AppError),
              (status = 429, body = AppError)))]
pub(super) async fn change_password(
    State(core): State<Core>,
    user: CurrentUser,
    key: IdempotencyKey,
    Json(body): Json<PasswordChange>,
) -> Result<StatusCode, AppError> {
    let change = Change::ChangePassword {
        current: Secret(body.current),
        new: Secret(body.new),
    };
    apply_no_content(&core, &user, &key, change).await
}

/// The organization's API tokens (admins).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, body = Vec<ApiToken>), (status = 403, body = AppError)))]
pub(super) async fn list_tokens(
    State(core): State<Core>,
    user: CurrentUser,
) -> Result<Json<Vec<ApiToken>>, AppError> {
    Ok(Json(tokens::list(&core.db, &user).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
}

/// Makes an API token (admins); the answer is the only time its secret is shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = AppError), (status = 422, body = AppError)))]
pub(super) async fn create_token(
    State(core): State<Core>,
    user: CurrentUser,
    Json(body): Json<NewToken>,
) -> Result<Response, AppError> {
    let made = tokens::create(&core.db, &user, &body.name, body.role).await?;
    Ok((StatusCode::CREATED, Json(made)).into_response())
}

/// Revokes an API token (admins): its next request is refused and its open
/// streams close.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204), (status = 403, body = AppError), (status = 404, body = AppError)))]
pub(super) async fn revoke_token(
    State(core): State<Core>,
    user: CurrentUser,
    Path(id): Path<String>,
    key: IdempotencyKey,
) -> Result<StatusCode, AppError> {
    apply_no_content(&core, &user, &key, Change::RevokeToken { token_id: id }).await
}
