//! Accounts through the change path: admins add operators, change their
//! role, deactivate and reactivate them, end sessions and revoke API
//! tokens; every operator changes their own password and ends their own
//! sessions. Each is one change with one event, so every node's streams
//! learn of it at once (`EventBody::touches_credentials`) and close the
//! ones that no longer hold.
//!
//! A deactivated account keeps its row (events name it as their actor):
//! it cannot sign in, its sessions are gone and its tokens revoked in the
//! same transaction. The organization always keeps one active admin.
//! Refusals that depend on the current state (a taken email, the only
//! admin, already deactivated) are conflicts (409); bad input is 422.

use sqlx::{any::AnyRow, Any, Row, Transaction};

use super::{
    passwords::{hash_off_thread, verify_off_thread},
    tokens,
};
use crate::{
    error::AppError,
    model::{validate_email, AccountsSnapshot, Change, EventBody, Role, SessionRow, User},
    server::core::{
        attempts,
        change::{check_version, Applied, ChangeCtx},
        credential::Credential,
        ids::validate_id,
        log, now_ms, CurrentUser, Db,
    },
};

/// Wrong current passwords one account may send in the window.
const PASSWORD_ATTEMPTS: i64 = 10;
const PASSWORD_WINDOW_MS: i64 = 15 * 60_000;

const USER_COLUMNS: &str = "id, email, role, created_at, deactivated_at, version";

fn user_from_row(r: &AnyRow) -> User {
    User {
        id: r.get("id"),
        email: r.get("email"),
        role: r.get::<String, _>("role").parse().unwrap_or(Role::Viewer),
        created_at: r.get("created_at"),
        deactivated_at: r.get("deactivated_at"),
        version: r.get("version"),
    }
}

async fn load(
    tx: &mut Transaction<'static, Any>,
    org_id: &str,
    user_id: &str,
) -> Result<User, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref()
        .map(user_from_row)
        .ok_or_else(|| AppError::not_found("No account with this id in your organization."))
}

/// The account a versioned change is about, checked against its base version.
async fn load_versioned(
    ctx: &mut ChangeCtx<'_>,
    org_id: &str,
    user_id: &str,
) -> Result<User, AppError> {
    let user = load(ctx.tx, org_id, user_id).await?;
    check_version(
        &user,
        user.version,
        &user.email,
        "an account",
        ctx.base_version,
    )?;
    Ok(user)
}

/// Refuses a change that would leave the organization without an active admin.
async fn keep_an_admin(
    tx: &mut Transaction<'static, Any>,
    org_id: &str,
    user: &User,
) -> Result<(), AppError> {
    if user.role != Role::Admin || !user.active() {
        return Ok(());
    }
    let (others,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = 'admin' \
         AND deactivated_at IS NULL AND id <> $2",
    )
    .bind(org_id)
    .bind(&user.id)
    .fetch_one(&mut **tx)
    .await?;
    if others == 0 {
        return Err(AppError::conflict(format!(
            "{} is the organization's only admin: make another account admin first.",
            user.email
        )));
    }
    Ok(())
}

/// Applies an account, session or token change inside the change path's
/// transaction.
pub async fn apply(mut ctx: ChangeCtx<'_>, change: &Change) -> Result<Applied, AppError> {
    let org_id = ctx.user.org_id.clone();
    let org_id = org_id.as_str();
    let body = match change {
        Change::CreateUser {
            user_id,
            email,
            role,
            password,
        } => {
            validate_id(user_id, "A user id")?;
            let email = validate_email(email).map_err(AppError::validation)?;
            let taken: Option<(String, String)> =
                sqlx::query_as("SELECT id, email FROM users WHERE email = $1 OR id = $2")
                    .bind(&email)
                    .bind(user_id)
                    .fetch_optional(&mut **ctx.tx)
                    .await?;
            if let Some((_, taken_email)) = taken {
                return Err(AppError::conflict(if taken_email == email {
                    format!("An account with the email {email} already exists.")
                } else {
                    "An account with this id already exists.".to_string()
                }));
            }
            let hash = hash_off_thread(password.expose()).await?;
            sqlx::query(
                "INSERT INTO users (id, org_id, email, password_hash, role, created_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, 1)",
            )
            .bind(user_id)
            .bind(org_id)
            .bind(&email)
            .bind(hash)
            .bind(role.as_str())
            .bind(now_ms())
            .execute(&mut **ctx.tx)
            .await?;
            EventBody::UserUpserted {
                user: load(ctx.tx, org_id, user_id).await?,
            }
        }
        Change::ChangeRole { user_id, role } => {
            let user = load_versioned(&mut ctx, org_id, user_id).await?;
            if user.role == *role {
                return Err(AppError::conflict(format!(
                    "{} is already {}.",
                    user.email,
                    role.as_str()
                )));
            }
            if *role != Role::Admin {
                keep_an_admin(ctx.tx, org_id, &user).await?;
            }
            sqlx::query("UPDATE users SET role = $1, version = version + 1 WHERE id = $2")
                .bind(role.as_str())
                .bind(user_id)
                .execute(&mut **ctx.tx)
                .await?;
            // Tokens act with their own role; an account's sessions act with
            // its role as it is now, read on every request.
            EventBody::UserUpserted {
                user: load(ctx.tx, org_id, user_id).await?,
            }
        }
        Change::DeactivateUser { user_id } => {
            let user = load_versioned(&mut ctx, org_id, user_id).await?;
            if *user_id == ctx.user.user_id {
                return Err(AppError::conflict(
                    "You cannot deactivate your own account; another admin can.",
                ));
            }
            if !user.active() {
                return Err(AppError::conflict(format!(
                    "{} is already deactivated.",
                    user.email
                )));
            }
            keep_an_admin(ctx.tx, org_id, &user).await?;
            let now = now_ms();
            sqlx::query(
                "UPDATE users SET deactivated_at = $1, version = version + 1 WHERE id = $2",
            )
            .bind(now)
            .bind(user_id)
            .execute(&mut **ctx.tx)
            .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut **ctx.tx)
                .await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 \
                 WHERE org_id = $2 AND created_by = $3 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(org_id)
            .bind(user_id)
            .execute(&mut **ctx.tx)
            .await?;
            EventBody::UserUpserted {
                user: load(ctx.tx, org_id, user_id).await?,
            }
        }
        Change::ReactivateUser { user_id } => {
            let user = load_versioned(&mut ctx, org_id, user_id).await?;
            if user.active() {
                return Err(AppError::conflict(format!(
                    "{} is already active.",
                    user.email
                )));
            }
            sqlx::query(
                "UPDATE users SET deactivated_at = NULL, version = version + 1 WHERE id = $1",
            )
            .bind(user_id)
            .execute(&mut **ctx.tx)
            .await?;
            EventBody::UserUpserted {
                user: load(ctx.tx, org_id, user_id).await?,
            }
        }
        Change::EndSession { session_id } => {
            validate_id(session_id, "A session id")?;
            let owner: Option<(String,)> = sqlx::query_as(
                "SELECT s.user_id FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.id = $1 AND u.org_id = $2",
            )
            .bind(session_id)
            .bind(org_id)
            .fetch_optional(&mut **ctx.tx)
            .await?;
            let Some((user_id,)) = owner else {
                return Err(AppError::not_found(
                    "No such session: it may have ended already.",
                ));
            };
            if user_id != ctx.user.user_id {
                ctx.user.require_admin("end another operator's session")?;
            }
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(session_id)
                .execute(&mut **ctx.tx)
                .await?;
            EventBody::SessionEnded {
                session_id: session_id.clone(),
                user_id,
            }
        }
        Change::ChangePassword { current, new } => {
            if matches!(ctx.user.credential, Credential::Token { .. }) {
                return Err(AppError::forbidden(
                    "An API token has no password; sign in to change yours.",
                ));
            }
            let user_id = ctx.user.user_id.clone();
            let key = format!("password:{user_id}");
            let (recent, _) = attempts::recent(ctx.tx, &key, now_ms() - PASSWORD_WINDOW_MS).await?;
            if recent >= PASSWORD_ATTEMPTS {
                return Err(AppError::RateLimited {
                    message: "Too many wrong current passwords: wait 15 minutes and try again."
                        .into(),
                });
            }
            let (hash,): (String,) =
                sqlx::query_as("SELECT password_hash FROM users WHERE id = $1")
                    .bind(&user_id)
                    .fetch_one(&mut **ctx.tx)
                    .await?;
            if !verify_off_thread(current.expose(), hash).await {
                ctx.count_attempt(key);
                return Err(AppError::validation("That is not your current password."));
            }
            let hash = hash_off_thread(new.expose()).await?;
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(&user_id)
                .execute(&mut **ctx.tx)
                .await?;
            // Every other session of the account ends; this one stays.
            let keep = ctx.user.credential.session_id().unwrap_or("");
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
                .bind(&user_id)
                .bind(keep)
                .execute(&mut **ctx.tx)
                .await?;
            EventBody::PasswordChanged { user_id }
        }
        Change::RevokeToken { token_id } => {
            validate_id(token_id, "A token id")?;
            tokens::revoke_in(ctx.tx, org_id, token_id).await?;
            EventBody::TokenRevoked {
                token_id: token_id.clone(),
            }
        }
        _ => return Err(AppError::internal()),
    };
    Ok(body.into())
}

/// One account, as `snapshot` would list it to `user`.
pub async fn get(db: &Db, user: &CurrentUser, id: &str) -> Result<User, AppError> {
    let mut tx = db.pool.begin().await?;
    let found = load(&mut tx, &user.org_id, id).await;
    tx.rollback().await?;
    let found = found?;
    if user.role != Role::Admin && found.id != user.user_id {
        return Err(AppError::not_found(
            "No account with this id in your organization.",
        ));
    }
    Ok(found)
}

/// The accounts an operator may see (admins: the organization's; others:
/// their own) and the sessions they may end, with the stream position
/// they were read at.
pub async fn snapshot(db: &Db, user: &CurrentUser) -> Result<AccountsSnapshot, AppError> {
    let admin = user.role == Role::Admin;
    let (_, seq) = log::position(db, &user.org_id).await?;
    let users = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND ($2 = 1 OR id = $3) \
         ORDER BY email"
    ))
    .bind(&user.org_id)
    .bind(i64::from(admin))
    .bind(&user.user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(user_from_row)
    .collect();
    let current = user.credential.session_id().unwrap_or("");
    let sessions = sqlx::query(
        "SELECT s.id, s.user_id, u.email, s.created_at, s.expires_at, s.user_agent \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE u.org_id = $1 AND s.expires_at > $2 AND ($3 = 1 OR s.user_id = $4) \
         ORDER BY s.created_at DESC, s.id",
    )
    .bind(&user.org_id)
    .bind(now_ms())
    .bind(i64::from(admin))
    .bind(&user.user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        let id: String = r.get("id");
        SessionRow {
            current: id == current,
            id,
            user_id: r.get("user_id"),
            email: r.get("email"),
            created_at: r.get("created_at"),
            expires_at: r.get("expires_at"),
            user_agent: r.get("user_agent"),
        }
    })
    .collect();
    Ok(AccountsSnapshot {
        users,
        sessions,
        seq,
    })
}
