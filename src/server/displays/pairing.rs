//! Pairing codes: issued to a display that connects without a token,
//! single-use, good for 10 minutes, claimed by an operator's `PairDevice`
//! op. Wrong guesses are limited per organization. A code lives on the node
//! whose socket shows it.

use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;

use super::{Control, Gateway};
use crate::{
    error::AppError,
    model::{format_pairing_code, normalize_pairing_code, PAIRING_ALPHABET},
    server::core::now_ms,
};

/// How long a pairing code is good for.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong codes an organization may try per window before claims are refused.
const CLAIM_ATTEMPTS: u32 = 10;
const CLAIM_WINDOW: Duration = Duration::from_secs(600);

pub(super) struct Pairing {
    expires_at: i64,
    control: mpsc::UnboundedSender<Control>,
    /// The op that is claiming it, between its check and its commit.
    reserved_by: Option<String>,
    /// Claimed and handed over; waiting for its connection to take it.
    delivered: bool,
}

fn new_code() -> String {
    let mut rng = rand::thread_rng();
    (0..6)
        .map(|_| PAIRING_ALPHABET[rng.gen_range(0..PAIRING_ALPHABET.len())] as char)
        .collect()
}

impl Gateway {
    pub(super) fn issue_code(&self, control: &mpsc::UnboundedSender<Control>) -> (String, i64) {
        let mut pairings = self.pairings.lock().unwrap();
        let now = now_ms();
        pairings.retain(|_, p| p.expires_at > now && !p.control.is_closed());
        let code = loop {
            let code = new_code();
            if !pairings.contains_key(&code) {
                break code;
            }
        };
        let expires_at = now + CODE_TTL_MS;
        pairings.insert(
            code.clone(),
            Pairing {
                expires_at,
                control: control.clone(),
                reserved_by: None,
                delivered: false,
            },
        );
        (code, expires_at)
    }

    pub(super) fn drop_code(&self, code: &str) {
        self.pairings.lock().unwrap().remove(code);
    }

    pub(super) fn code_lapsed(&self, code: &str) -> bool {
        self.pairings
            .lock()
            .unwrap()
            .get(code)
            .is_none_or(|p| p.expires_at <= now_ms())
    }

    /// Holds a code for `op_id` while its op commits. A wrong code counts
    /// against the organization's guesses.
    pub fn reserve_code(&self, org_id: &str, code: &str, op_id: &str) -> Result<String, AppError> {
        let key = format!("pair:{org_id}");
        if let Err(wait) = self.claims.check(&key, CLAIM_ATTEMPTS, CLAIM_WINDOW) {
            return Err(AppError::RateLimited {
                message: format!(
                    "Too many wrong pairing codes; try again in {} minutes.",
                    wait.div_ceil(60)
                ),
            });
        }
        let code = normalize_pairing_code(code);
        let mut pairings = self.pairings.lock().unwrap();
        let now = now_ms();
        match pairings.get_mut(&code) {
            Some(p) if p.expires_at > now && !p.delivered && !p.control.is_closed() => {
                match &p.reserved_by {
                    Some(other) if other != op_id => Err(AppError::validation(
                        "This code is being claimed by someone else right now.",
                    )),
                    _ => {
                        p.reserved_by = Some(op_id.to_string());
                        self.claims.succeed(&key);
                        Ok(code)
                    }
                }
            }
            _ => {
                self.claims.fail(&key, CLAIM_WINDOW);
                Err(AppError::validation(format!(
                    "No display shows the code {}. Check it on the screen; codes last 10 minutes.",
                    format_pairing_code(&code)
                )))
            }
        }
    }

    /// The op that reserved a code failed: the code is free again.
    pub fn release_code(&self, op_id: &str) {
        for p in self.pairings.lock().unwrap().values_mut() {
            if p.reserved_by.as_deref() == Some(op_id) {
                p.reserved_by = None;
            }
        }
    }

    /// After commit: hand the token to the display that showed the code.
    pub fn deliver_pairing(
        &self,
        code: &str,
        org_id: &str,
        device_id: &str,
        name: &str,
        token: String,
    ) {
        // The entry stays, held, until the connection takes the token: so its
        // expiry check cannot mistake a claimed code for a lapsed one.
        if let Some(p) = self.pairings.lock().unwrap().get_mut(code) {
            p.expires_at = i64::MAX;
            p.delivered = true;
            let _ = p.control.send(Control::Paired {
                org_id: org_id.to_string(),
                device_id: device_id.to_string(),
                name: name.to_string(),
                token,
            });
        }
    }

    /// Moves every code's expiry `ms` earlier (tests of expiry).
    #[cfg(test)]
    pub fn age_codes(&self, ms: i64) {
        for p in self.pairings.lock().unwrap().values_mut() {
            p.expires_at -= ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::displays::new_device_token;
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
