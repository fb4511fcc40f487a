//! Pairing codes: issued to a display that connects without a token,
//! single-use, good for 10 minutes, claimed by an operator's `PairDevice`
//! op on any node. Codes live in the database (`pairing_codes`) and wrong
//! guesses are counted there too (`core::attempts`), so codes are unique and
//! guesses counted across nodes; the guess budget (10 wrong codes per
//! organization in 10 minutes) is never reset by a right guess.
//!
//! The display's node makes the display's token when it issues the code and
//! keeps it in memory; the database holds its sha256. A claim marks the row
//! inside the change's transaction (a rollback releases it) and the display's
//! node hands the token over when it sees the mark: at once when the claim
//! was made on the same node, within a second otherwise.

use rand::Rng;
use sqlx::Row;

use super::{new_device_token, Control, ControlTx, Gateway};
use crate::{
    error::AppError,
    model::{format_pairing_code, normalize_pairing_code, PAIRING_ALPHABET},
    server::core::{attempts, change::ChangeCtx, ids::sha256_hex, now_ms, Db, ExecuteWrite},
};

/// How long a pairing code is good for.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong codes an organization may try per window before claims are refused.
const CLAIM_ATTEMPTS: i64 = 10;
const CLAIM_WINDOW_MS: i64 = 10 * 60 * 1000;

fn new_code() -> String {
    let mut rng = rand::thread_rng();
    (0..6)
        .map(|_| PAIRING_ALPHABET[rng.gen_range(0..PAIRING_ALPHABET.len())] as char)
        .collect()
}

/// A code this node shows on a display, with the token it will hand over.
pub(super) struct Offer {
    pub code: String,
    pub token: String,
    pub expires_at: i64,
}

/// What became of an offered code.
pub(super) enum Claim {
    Waiting,
    /// Gone without a claim (expired, or removed): offer a new one.
    Lapsed,
    Claimed {
        org_id: String,
        device_id: String,
        name: String,
    },
}

/// Stores a fresh code (unique across nodes) for a display's socket.
pub(super) async fn offer(db: &Db) -> Result<Offer, AppError> {
    let token = new_device_token();
    let now = now_ms();
    for _ in 0..20 {
        let code = new_code();
        let stored = sqlx::query(
            "INSERT INTO pairing_codes (code, token_hash, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(&code)
        .bind(sha256_hex(&token))
        .bind(now + CODE_TTL_MS)
        .execute_write(db)
        .await;
        match stored {
            Ok(_) => {
                return Ok(Offer {
                    code,
                    token,
                    expires_at: now + CODE_TTL_MS,
                })
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::internal())
}

/// Looks at an offered code: still waiting, lapsed, or claimed.
pub(super) async fn check(db: &Db, code: &str) -> Result<Claim, AppError> {
    let row = sqlx::query(
        "SELECT expires_at, claimed_at, org_id, device_id, name FROM pairing_codes WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(Claim::Lapsed);
    };
    if row.get::<Option<i64>, _>("claimed_at").is_some() {
        return Ok(Claim::Claimed {
            org_id: row.get::<Option<String>, _>("org_id").unwrap_or_default(),
            device_id: row
                .get::<Option<String>, _>("device_id")
                .unwrap_or_default(),
            name: row.get::<Option<String>, _>("name").unwrap_or_default(),
        });
    }
    if row.get::<i64, _>("expires_at") <= now_ms() {
        return Ok(Claim::Lapsed);
    }
    Ok(Claim::Waiting)
}

/// The offer is over (handed over, lapsed, or its display left).
pub(super) async fn withdraw(db: &Db, code: &str) {
    let _ = sqlx::query("DELETE FROM pairing_codes WHERE code = $1")
        .bind(code)
        .execute_write(db)
        .await;
}

/// Claims `code` for a new display, inside the change's transaction;
/// returns the normalized code and the hash of the token the display will be
/// given. A wrong code counts against the organization's guesses, and once
/// they are used up even a right one waits.
pub(super) async fn claim(
    ctx: &mut ChangeCtx<'_>,
    code: &str,
    device_id: &str,
    name: &str,
) -> Result<(String, String), AppError> {
    let now = now_ms();
    let key = format!("pair:{}", ctx.org_id());
    let (guesses, oldest) = attempts::recent(ctx.tx, &key, now - CLAIM_WINDOW_MS).await?;
    if guesses >= CLAIM_ATTEMPTS {
        let wait_ms = oldest.map_or(CLAIM_WINDOW_MS, |at| at + CLAIM_WINDOW_MS - now);
        return Err(AppError::RateLimited {
            message: format!(
                "Too many wrong pairing codes; try again in {} minutes.",
                (wait_ms.max(1) + 59_999) / 60_000
            ),
        });
    }
    let code = normalize_pairing_code(code);
    let org_id = ctx.org_id().to_string();
    let claimed: Option<String> = sqlx::query_scalar(
        "UPDATE pairing_codes SET claimed_at = $1, org_id = $2, device_id = $3, name = $4 \
         WHERE code = $5 AND claimed_at IS NULL AND expires_at > $1 RETURNING token_hash",
    )
    .bind(now)
    .bind(&org_id)
    .bind(device_id)
    .bind(name.trim())
    .bind(&code)
    .fetch_optional(&mut **ctx.tx)
    .await?;
    match claimed {
        Some(token_hash) => Ok((code, token_hash)),
        None => {
            ctx.count_attempt(key);
            Err(AppError::not_found(format!(
                "No display shows the code {}. Check it on the screen; codes last 10 minutes.",
                format_pairing_code(&code)
            )))
        }
    }
}

/// Drops codes whose display went away without withdrawing them (a node
/// that stopped).
pub async fn prune(db: &Db) -> Result<(), AppError> {
    sqlx::query("DELETE FROM pairing_codes WHERE expires_at < $1")
        .bind(now_ms() - CODE_TTL_MS)
        .execute_write(db)
        .await?;
    Ok(())
}

impl Gateway {
    /// This node's socket showing `code` wants to hear of its claim at once.
    pub(super) fn watch_code(&self, code: &str, control: &ControlTx) {
        self.pairings
            .lock()
            .unwrap()
            .insert(code.to_string(), control.clone());
    }

    pub(super) fn unwatch_code(&self, code: &str) {
        self.pairings.lock().unwrap().remove(code);
    }

    /// After a claim commits on this node: if the display showing the code is
    /// connected here, it looks now rather than at its next check.
    pub(super) fn code_claimed(&self, code: &str) {
        if let Some(control) = self.pairings.lock().unwrap().get(code) {
            let _ = control.try_send(Control::Claimed);
        }
    }
}

/// Moves every code's expiry `ms` earlier (tests of expiry).
#[cfg(test)]
pub async fn age_codes(db: &Db, ms: i64) {
    sqlx::query("UPDATE pairing_codes SET expires_at = expires_at - $1")
        .bind(ms)
        .execute_write(db)
        .await
        .unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_unambiguous_alphabet() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| PAIRING_ALPHABET.contains(&b)), "{c}");
        }
        assert!(new_device_token().starts_with("vzd_"));
    }
}
