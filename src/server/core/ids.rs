//! Identifiers and secrets: new ids, the one rule every client-made id
//! follows, long random tokens, and the sha256 under which tokens are stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;

const MAX_ID_CHARS: usize = 64;

/// A fresh id (a UUID v4).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The rule for every id a client may choose (op ids, display, content,
/// playlist and item ids): 1 to 64 ASCII letters, digits, `-` or `_`. Ids
/// end up in URLs and file names, so nothing else is accepted. `what` names
/// the id in the message ("A display id", "op_id").
pub fn validate_id(id: &str, what: &str) -> Result<(), AppError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(format!(
            "{what} must be 1 to {MAX_ID_CHARS} letters, digits, '-' or '_' (a UUID is best)."
        )))
    }
}

pub fn sha256_hex(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A long random token (256 bits), hex-encoded.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_url_safe_words() {
        assert!(validate_id(&new_id(), "A display id").is_ok());
        assert!(validate_id("op_1-a", "op_id").is_ok());
        assert!(validate_id("", "op_id").is_err());
        assert!(validate_id(&"a".repeat(65), "op_id").is_err());
        for bad in ["a/b", "a.b", "a b", "ä"] {
            let err = validate_id(bad, "A content id").unwrap_err();
            assert!(err.to_string().starts_with("A content id must be"), "{err}");
        }
    }

    #[test]
    fn tokens_are_256_bits_of_hex() {
        let t = random_token();
        assert_eq!(t.len(), 64);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(t, random_token());
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
