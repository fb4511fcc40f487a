//! Passwords: Argon2id hashes, the rule for a new password, operator
//! accounts, and the credential check that takes as long for an unknown
//! email as for a wrong password.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use sqlx::Row;

use crate::{
    error::AppError,
    model::Role,
    server::core::{ids::random_token, new_id, now_ms, Db, ExecuteWrite},
};

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

pub use crate::model::validate_password as validate_new_password;

/// Hashes off the async threads: Argon2id takes tens of milliseconds.
pub async fn hash_off_thread(password: &str) -> Result<String, AppError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| AppError::internal())?
        .map_err(|e| {
            tracing::error!(%e, "hashing a password failed");
            AppError::internal()
        })
}

/// Checks a password against a stored hash, off the async threads.
pub async fn verify_off_thread(password: &str, hash: String) -> bool {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

pub async fn create_user(
    db: &Db,
    org_id: &str,
    email: &str,
    password: &str,
    role: Role,
) -> Result<String, String> {
    let email = crate::model::validate_email(email)?;
    validate_new_password(password)?;
    let hash = {
        let password = password.to_string();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| e.to_string())??
    };
    let id = new_id();
    sqlx::query(
        "INSERT INTO users (id, org_id, email, password_hash, role, created_at, version) VALUES ($1, $2, $3, $4, $5, $6, 1)",
    )
    .bind(&id)
    .bind(org_id)
    .bind(&email)
    .bind(hash)
    .bind(role.as_str())
    .bind(now_ms())
    .execute_write(db)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            format!("a user with email {email} already exists")
        }
        other => format!("cannot add user: {other}"),
    })?;
    Ok(id)
}

/// Checks an email and password; `None` for any mismatch, without saying which.
pub async fn check_credentials(
    db: &Db,
    email: &str,
    password: &str,
) -> Result<Option<String>, AppError> {
    // A deactivated account is refused like an unknown one.
    let row = sqlx::query(
        "SELECT id, password_hash FROM users WHERE email = $1 AND deactivated_at IS NULL",
    )
    .bind(email.trim().to_lowercase())
    .fetch_optional(&db.pool)
    .await?;
    // Hash even when the email is unknown, so timing does not tell which part was wrong.
    let (user_id, hash) = match row {
        Some(r) => (
            Some(r.get::<String, _>("id")),
            r.get::<String, _>("password_hash"),
        ),
        None => (None, dummy_hash().to_string()),
    };
    let ok = verify_off_thread(password, hash).await;
    Ok(if ok { user_id } else { None })
}

/// The hash of a random password nobody knows, checked for unknown emails so they
/// take as long to refuse as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", dummy_hash()));
    }
}
