//! The secrets vault: AES-256-GCM under an operator-held key.
//!
//! Cloud credentials, integration secrets and TOTP seeds are sealed before they reach the
//! database. The key never lives in the database: it comes from a key file or the
//! `RAMPART_VAULT_KEY` environment variable, in this text form (one key per line, the first line
//! is the current key, later lines are older keys still accepted for opening):
//!
//! ```text
//! k2026a:8oQ6v0Nq8Vb1m1c0pWcJqk1f8mKXyQ8X2J4m2hYq3aQ=
//! k2025b:...
//! ```
//!
//! Sealed text is `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>` with a fresh 96-bit random
//! nonce per seal and caller-chosen associated data (e.g. the workspace and connector ids), so a
//! sealed value copied to another row does not open. Rotation (`rampart vault rotate-key`) puts
//! a new key first, re-seals every stored secret under it, and leaves the old key for the
//! operator to remove.

use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;

/// Environment variable holding the key text (instead of a file).
pub const VAULT_KEY_ENV: &str = "RAMPART_VAULT_KEY";

const PREFIX: &str = "v1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("vault key {origin}: {message}")]
    Key { origin: String, message: String },
    #[error("sealed secret is malformed")]
    Malformed,
    #[error("sealed secret uses key {0:?}, which the vault key text does not hold")]
    UnknownKey(String),
    #[error(
        "sealed secret does not open with its key (wrong key, wrong associated data, or tampered)"
    )]
    Open,
}

struct VaultKey {
    id: String,
    bytes: [u8; 32],
    cipher: Aes256Gcm,
}

/// The loaded keys. Debug output names key ids only.
pub struct Vault {
    keys: Vec<VaultKey>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field(
                "key_ids",
                &self.keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Vault {
    /// Parses key text (see the module docs). `origin` names where it came from, for errors.
    pub fn from_key_text(text: &str, origin: &str) -> Result<Vault, VaultError> {
        let err = |message: String| VaultError::Key {
            origin: origin.to_owned(),
            message,
        };
        let mut keys: Vec<VaultKey> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, b64) = line.split_once(':').ok_or_else(|| {
                err(format!(
                    "line {}: expected KEY_ID:BASE64_KEY (32 bytes)",
                    n + 1
                ))
            })?;
            if id.is_empty()
                || id.len() > 32
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(err(format!(
                    "line {}: key id must be 1 to 32 characters of A-Z, a-z, 0-9, '-' and '_'",
                    n + 1
                )));
            }
            let bytes = B64
                .decode(b64.trim())
                .map_err(|_| err(format!("line {}: key is not valid base64", n + 1)))?;
            if bytes.len() != 32 {
                return Err(err(format!(
                    "line {}: key must be 32 bytes (AES-256), found {}",
                    n + 1,
                    bytes.len()
                )));
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(err(format!("line {}: duplicate key id {id:?}", n + 1)));
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| err(format!("line {}: bad key", n + 1)))?;
            let mut raw = [0u8; 32];
            raw.copy_from_slice(&bytes);
            keys.push(VaultKey {
                id: id.to_owned(),
                bytes: raw,
                cipher,
            });
        }
        if keys.is_empty() {
            return Err(err("no key found".into()));
        }
        Ok(Vault { keys })
    }

    /// Reads key text from a file.
    pub fn from_file(path: &Path) -> Result<Vault, VaultError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| VaultError::Key {
            origin: origin.clone(),
            message: e.to_string(),
        })?;
        Vault::from_key_text(&text, &origin)
    }

    /// A new random key line `ID:BASE64`.
    pub fn generate_key_line(id: &str) -> String {
        use rand::RngCore as _;
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        format!("{id}:{}", B64.encode(k))
    }

    /// The key material of key `id`, for the backup writer's chunked AES-256-GCM.
    pub(crate) fn raw_key(&self, id: &str) -> Option<&[u8]> {
        self.keys
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.bytes.as_slice())
    }

    /// Whether a key with this id is loaded (something sealed under it can be opened).
    pub fn has_key(&self, id: &str) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }

    /// Id of the key new seals use.
    pub fn current_key_id(&self) -> &str {
        self.keys.first().map(|k| k.id.as_str()).unwrap_or_default()
    }

    /// Seals `plaintext` under the current key, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, VaultError> {
        use rand::RngCore as _;
        let key = self.keys.first().ok_or(VaultError::Malformed)?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| VaultError::Open)?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        Ok(format!("{PREFIX}:{}:{}", key.id, B64.encode(blob)))
    }

    /// Opens sealed text with whichever held key sealed it.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, VaultError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(PREFIX), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(VaultError::Malformed);
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| VaultError::UnknownKey(id.to_owned()))?;
        let blob = B64.decode(b64).map_err(|_| VaultError::Malformed)?;
        if blob.len() < 12 + 16 {
            return Err(VaultError::Malformed);
        }
        let (nonce, ct) = blob.split_at(12);
        key.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| VaultError::Open)
    }

    /// The key id of sealed text, if well-formed.
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, ':');
        match (parts.next(), parts.next()) {
            (Some(PREFIX), Some(id)) => Some(id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::from_key_text(&Vault::generate_key_line("k1"), "test").expect("vault")
    }

    #[test]
    fn seal_and_open() {
        let v = vault();
        let sealed = v.seal(b"AKIA secret", b"ws_1/conn_1").expect("seal");
        assert!(sealed.starts_with("v1:k1:"));
        assert!(!sealed.contains("AKIA"));
        assert_eq!(
            v.open(&sealed, b"ws_1/conn_1").expect("open"),
            b"AKIA secret"
        );
        // Fresh nonce each time.
        assert_ne!(
            sealed,
            v.seal(b"AKIA secret", b"ws_1/conn_1").expect("seal")
        );
    }

    #[test]
    fn wrong_aad_tamper_and_wrong_key_fail() {
        let v = vault();
        let sealed = v.seal(b"secret", b"a").expect("seal");
        assert_eq!(v.open(&sealed, b"b"), Err(VaultError::Open));
        let mut blob = B64
            .decode(sealed.rsplit(':').next().expect("blob"))
            .expect("b64");
        blob[14] ^= 1;
        let tampered = format!("v1:k1:{}", B64.encode(blob));
        assert_eq!(v.open(&tampered, b"a"), Err(VaultError::Open));
        let other = Vault::from_key_text(&Vault::generate_key_line("k1"), "t").expect("v");
        assert_eq!(other.open(&sealed, b"a"), Err(VaultError::Open));
        let unknown = Vault::from_key_text(&Vault::generate_key_line("k2"), "t").expect("v");
        assert_eq!(
            unknown.open(&sealed, b"a"),
            Err(VaultError::UnknownKey("k1".into()))
        );
        assert_eq!(v.open("garbage", b"a"), Err(VaultError::Malformed));
    }

    #[test]
    fn rotation_keeps_old_keys_for_opening() {
        let old_line = Vault::generate_key_line("old");
        let old = Vault::from_key_text(&old_line, "t").expect("v");
        let sealed = old.seal(b"s", b"").expect("seal");
        let both = Vault::from_key_text(
            &format!("{}\n{old_line}\n", Vault::generate_key_line("new")),
            "t",
        )
        .expect("v");
        assert_eq!(both.current_key_id(), "new");
        assert_eq!(both.open(&sealed, b"").expect("open"), b"s");
        assert!(both.seal(b"s", b"").expect("seal").starts_with("v1:new:"));
    }

    #[test]
    fn bad_key_text_is_explained() {
        let e = Vault::from_key_text("k1:c2hvcnQ=", "RAMPART_VAULT_KEY").expect_err("short");
        assert_eq!(
            e.to_string(),
            "vault key RAMPART_VAULT_KEY: line 1: key must be 32 bytes (AES-256), found 5"
        );
        assert!(Vault::from_key_text("", "f").is_err());
        assert!(Vault::from_key_text("nocolon", "f").is_err());
        let line = Vault::generate_key_line("a");
        assert!(Vault::from_key_text(&format!("{line}\n{line}"), "f").is_err());
        // Debug output names no key material.
        let v = Vault::from_key_text(&line, "f").expect("v");
        assert_eq!(format!("{v:?}"), "Vault { key_ids: [\"a\"] }");
    }
}
