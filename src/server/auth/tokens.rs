//! API tokens for integrators: `vz_` and 64 hex digits, shown once, stored as
//! their sha256, revocable. A token acts with the role it was given, in the
//! organization it was made in, on `/api/v1` only.

use sqlx::{any::AnyRow, Any, Row, Transaction};

use crate::{
    error::AppError,
    model::{ApiToken, CreatedToken, Role},
    server::core::{
        credential::Credential,
        ids::{random_token, sha256_hex},
        new_id, now_ms, CurrentUser, Db, ExecuteWrite,
    },
};

pub const PREFIX: &str = "vz_";

fn token_from_row(r: &AnyRow) -> ApiToken {
    ApiToken {
        id: r.get("id"),
        name: r.get("name"),
        role: r.get::<String, _>("role").parse().unwrap_or(Role::Viewer),
        created_at: r.get("created_at"),
        last_used_at: r.get("last_used_at"),
        revoked_at: r.get("revoked_at"),
    }
}

pub async fn list(db: &Db, user: &CurrentUser) -> Result<Vec<ApiToken>, AppError> {
    user.require_admin("manage API tokens")?;
    let rows = sqlx::query(
        "SELECT id, name, role, created_at, last_used_at, revoked_at FROM api_tokens \
         WHERE org_id = $1 ORDER BY created_at DESC, id",
    )
    .bind(&user.org_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(token_from_row).collect())
}

pub async fn create(
    db: &Db,
    user: &CurrentUser,
    name: &str,
    role: Role,
) -> Result<CreatedToken, AppError> {
    user.require_admin("manage API tokens")?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(AppError::validation(
            "A token needs a name of 1 to 80 characters, with no control characters.",
        ));
    }
    let secret = format!("{PREFIX}{}", random_token());
    let token = ApiToken {
        id: new_id(),
        name: name.to_string(),
        role,
        created_at: now_ms(),
        last_used_at: None,
        revoked_at: None,
    };
    sqlx::query(
        "INSERT INTO api_tokens (id, org_id, name, role, token_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&token.id)
    .bind(&user.org_id)
    .bind(&token.name)
    .bind(role.as_str())
    .bind(sha256_hex(&secret))
    .bind(&user.user_id)
    .bind(token.created_at)
    .execute_write(db)
    .await?;
    Ok(CreatedToken { token, secret })
}

/// Revokes an active token of the organization, inside a change.
pub async fn revoke_in(
    tx: &mut Transaction<'static, Any>,
    org_id: &str,
    id: &str,
) -> Result<(), AppError> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::not_found("No such active token."));
    }
    Ok(())
}

/// How stale a token's last use may be before a request records it again.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The identity a bearer token stands for, if it is known and not revoked.
/// `touch` records the use (requests do; a stream's periodic check does not).
pub async fn authenticate(
    db: &Db,
    secret: &str,
    touch: bool,
) -> Result<Option<CurrentUser>, AppError> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT t.id, t.name, t.role, t.org_id, t.last_used_at, o.name AS org_name FROM api_tokens t \
         JOIN organizations o ON o.id = t.org_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
    )
    .bind(sha256_hex(secret))
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let id: String = r.get("id");
    // The use is recorded to the minute, after the request has its answer
    // under way: a write waits its turn, and a read should not wait for it.
    let now = now_ms();
    let last: Option<i64> = r.try_get("last_used_at").ok().flatten();
    if touch && last.is_none_or(|at| now - at >= TOUCH_EVERY_MS) {
        let (db, id) = (db.clone(), id.clone());
        tokio::spawn(async move {
            let _ = sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute_write(&db)
                .await;
        });
    }
    Ok(Some(CurrentUser {
        user_id: format!("token:{id}"),
        org_id: r.get("org_id"),
        org_name: r.get("org_name"),
        email: format!("token:{}", r.get::<String, _>("name")),
        role: r.get::<String, _>("role").parse().unwrap_or(Role::Viewer),
        credential: Credential::Token { id },
    }))
}
