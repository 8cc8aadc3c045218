//! Password hashing: argon2id with OWASP's minimum parameters (ASVS 2.4.1).

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{Result, StoreError};

/// argon2id memory cost in KiB.
pub const ARGON2_M_COST_KIB: u32 = 19_456;
/// argon2id iterations.
pub const ARGON2_T_COST: u32 = 2;
/// argon2id parallelism.
pub const ARGON2_P_COST: u32 = 1;

const MIN_LEN: usize = 12;
const MAX_LEN: usize = 128;

fn hasher() -> Result<Argon2<'static>> {
    let params = Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, None)
        .map_err(|_| StoreError::PasswordHash)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into an argon2id PHC string with a fresh random 16-byte salt.
/// CPU-bound (tens of milliseconds): call from a blocking context.
pub fn hash_password(password: &str) -> Result<String> {
    use rand::RngCore as _;
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|_| StoreError::PasswordHash)?;
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|_| StoreError::PasswordHash)?;
    Ok(hash.to_string())
}

fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // Parameters come from the PHC string itself.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash of a random password, verified against when the user does not exist so that an unknown
/// email costs the same time as a wrong password.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = crate::random_token();
        hash_password(&random).unwrap_or_default()
    })
}

/// The 10,000 most common passwords (see crates/store/data/README.md), lowercase.
fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// True for a password that is common (ASVS 2.1.7): on the list as is (ignoring case), on it once
/// leading and trailing digits and punctuation are removed (`Password2024!`), or one short unit
/// repeated (`abcabcabcabc`, `aaaaaaaaaaaa`).
pub fn is_common_password(password: &str) -> bool {
    let lower = password.to_lowercase();
    let list = common_passwords();
    if list.contains(lower.as_str()) {
        return true;
    }
    let core =
        lower.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c == ' ');
    if core.chars().count() >= 4 && list.contains(core) {
        return true;
    }
    let chars: Vec<char> = lower.chars().collect();
    (1..=chars.len() / 2).any(|unit| {
        chars.len().is_multiple_of(unit) && chars.chunks(unit).all(|c| c == &chars[..unit])
    })
}

/// Password policy (ASVS 2.1.1, 2.1.2, 2.1.7): 12 to 128 characters, not a common password.
pub fn check_policy(password: &str) -> Result<()> {
    let len = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(StoreError::Invalid {
            field: "password",
            message: format!("must be {MIN_LEN} to {MAX_LEN} characters"),
        });
    }
    if password.trim().is_empty() {
        return Err(StoreError::Invalid {
            field: "password",
            message: "must not be blank".into(),
        });
    }
    if is_common_password(password) {
        return Err(StoreError::Invalid {
            field: "password",
            message: "is too common (it is on a list of frequently used passwords); choose another"
                .into(),
        });
    }
    Ok(())
}

pub(crate) async fn hash_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// Verifies `password` against `phc`, or against the dummy hash when `phc` is `None` (and then
/// answers false).
pub(crate) async fn verify_blocking(password: String, phc: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify(&password, &phc),
        None => {
            let _ = verify(&password, dummy_hash());
            false
        }
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_policy_params() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert_ne!(h, hash_password("correct horse battery").expect("hash"));
    }

    #[test]
    fn policy() {
        assert!(check_policy("short").is_err());
        assert!(check_policy(&"x".repeat(129)).is_err());
        assert!(check_policy("            ").is_err());
        assert!(check_policy("twelve chars").is_ok());
        // Common passwords, as they are and decorated.
        for common in [
            "123qweasdzxc",
            "1qaz2wsx3edc",
            "Password2024!",
            "qwertyuiop123",
            "abcabcabcabc",
            "aaaaaaaaaaaa",
            "!!Football1234",
        ] {
            let e = check_policy(common).expect_err(common);
            assert!(e.to_string().contains("too common"), "{common}: {e}");
        }
        assert!(check_policy("violet kettle harbour").is_ok());
    }
}
