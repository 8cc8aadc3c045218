//! The tamper-evident audit log.
//!
//! Every authentication decision and every state-changing action appends an [`AuditEvent`] to a
//! hash chain: one chain per workspace (its id) and one for the installation
//! ([`INSTALLATION_CHAIN`]). Entry `n` stores `hash_n = SHA-256(hash_{n-1} ‖ fields_n)` where
//! `fields_n` is the JSON array of the entry's fields in a fixed order, and `hash_0` is 64 zeros.
//! `audit_heads` keeps each chain's last sequence number and hash, so removing entries from the
//! end shows too. [`crate::Store::verify_audit`] recomputes every chain and names the first bad
//! entry.
//!
//! Appends run inside the caller's transaction ([`append`]), so an action and its audit entry
//! commit together or not at all: if the audit write fails, the action fails. The database
//! refuses UPDATE and DELETE on `audit_log` (triggers).
//!
//! Field values are stored as given except that control characters are replaced (no line
//! breaks or escape sequences reach a log viewer) and lengths are capped; exports are JSON lines,
//! so no value can forge another entry.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::Digest as _;
use sqlx::AnyConnection;
use sqlx::Row as _;

use crate::db::ts;
use crate::{Result, StoreError};

/// Chain name of installation-level events (sign-ins, operators, users).
pub const INSTALLATION_CHAIN: &str = "installation";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    ApiToken,
    Operator,
    System,
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiToken => "api_token",
            ActorKind::Operator => "operator",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
        }
    }
}

/// The outcome of the audited decision or action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// An event to record. Build with [`AuditEvent::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub actor_kind: ActorKind,
    pub actor_id: String,
    /// Human-readable actor (email, token name).
    pub actor_label: String,
    /// Dotted verb, e.g. `auth.login`, `member.invite`, `token.create`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub outcome: Outcome,
    /// Client address (empty for local actions).
    pub address: String,
    pub user_agent: String,
    /// The support grant a request was made under.
    pub grant_id: Option<String>,
    /// Extra facts (never secrets).
    pub detail: serde_json::Value,
}

impl AuditEvent {
    pub fn new(action: &str, outcome: Outcome) -> AuditEvent {
        AuditEvent {
            actor_kind: ActorKind::Anonymous,
            actor_id: String::new(),
            actor_label: String::new(),
            action: action.to_owned(),
            object_type: String::new(),
            object_id: String::new(),
            outcome,
            address: String::new(),
            user_agent: String::new(),
            grant_id: None,
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn actor(mut self, kind: ActorKind, id: &str, label: &str) -> Self {
        self.actor_kind = kind;
        self.actor_id = id.to_owned();
        self.actor_label = label.to_owned();
        self
    }

    pub fn object(mut self, object_type: &str, object_id: &str) -> Self {
        self.object_type = object_type.to_owned();
        self.object_id = object_id.to_owned();
        self
    }

    pub fn from_client(mut self, address: &str, user_agent: &str) -> Self {
        self.address = address.to_owned();
        self.user_agent = user_agent.to_owned();
        self
    }

    pub fn grant(mut self, grant_id: Option<&str>) -> Self {
        self.grant_id = grant_id.map(str::to_owned);
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub chain: String,
    pub seq: i64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// Replaces control characters (line breaks, escapes) and caps the length.
pub(crate) fn clean(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

fn cleaned(e: &AuditEvent) -> AuditEvent {
    AuditEvent {
        actor_id: clean(&e.actor_id, 128),
        actor_label: clean(&e.actor_label, 256),
        action: clean(&e.action, 64),
        object_type: clean(&e.object_type, 64),
        object_id: clean(&e.object_id, 512),
        address: clean(&e.address, 64),
        user_agent: clean(&e.user_agent, 256),
        grant_id: e.grant_id.as_deref().map(|g| clean(g, 128)),
        ..e.clone()
    }
}

/// The hash of an entry given its predecessor's hash.
pub fn entry_hash(prev_hash: &str, chain: &str, seq: i64, at: &str, e: &AuditEvent) -> String {
    let fields = serde_json::json!([
        chain,
        seq,
        at,
        e.actor_kind.as_str(),
        e.actor_id,
        e.actor_label,
        e.action,
        e.object_type,
        e.object_id,
        e.outcome.as_str(),
        e.address,
        e.user_agent,
        e.grant_id,
        e.detail,
    ]);
    let mut h = sha2::Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(fields.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// Appends `event` to `chain` inside the caller's transaction.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    chain: &str,
    event: &AuditEvent,
    now: DateTime<Utc>,
) -> Result<AuditEntry> {
    let event = cleaned(event);
    // The head row serialises appends to the chain: bumping its sequence number takes its row
    // lock (PostgreSQL) or the write lock (SQLite) until the transaction ends; RETURNING gives the
    // new number and the previous entry's hash.
    sqlx::query(
        "INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (chain) DO NOTHING",
    )
    .bind(chain)
    .bind(GENESIS)
    .execute(&mut *conn)
    .await?;
    let head =
        sqlx::query("UPDATE audit_heads SET seq = seq + 1 WHERE chain = $1 RETURNING seq, hash")
            .bind(chain)
            .fetch_one(&mut *conn)
            .await?;
    let prev_seq: i64 = head.try_get::<i64, _>("seq")? - 1;
    let prev_hash: String = head.try_get("hash")?;
    let seq = prev_seq + 1;
    let at = ts(now);
    let hash = entry_hash(&prev_hash, chain, seq, &at, &event);
    sqlx::query(
        "INSERT INTO audit_log (chain, seq, at, actor_kind, actor_id, actor_label, action, object_type, object_id, outcome, address, user_agent, grant_id, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(chain)
    .bind(seq)
    .bind(&at)
    .bind(event.actor_kind.as_str())
    .bind(&event.actor_id)
    .bind(&event.actor_label)
    .bind(&event.action)
    .bind(&event.object_type)
    .bind(&event.object_id)
    .bind(event.outcome.as_str())
    .bind(&event.address)
    .bind(&event.user_agent)
    .bind(&event.grant_id)
    .bind(event.detail.to_string())
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_heads SET hash = $2 WHERE chain = $1")
        .bind(chain)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(AuditEntry {
        chain: chain.to_owned(),
        seq,
        at: now,
        event,
        prev_hash,
        hash,
    })
}

pub(crate) fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    let kind: String = row.try_get("actor_kind")?;
    let outcome: String = row.try_get("outcome")?;
    let detail: String = row.try_get("detail")?;
    let at: String = row.try_get("at")?;
    Ok(AuditEntry {
        chain: row.try_get("chain")?,
        seq: row.try_get("seq")?,
        at: DateTime::parse_from_rfc3339(&at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| StoreError::Corrupt(format!("audit timestamp: {e}")))?,
        event: AuditEvent {
            actor_kind: match kind.as_str() {
                "user" => ActorKind::User,
                "api_token" => ActorKind::ApiToken,
                "operator" => ActorKind::Operator,
                "system" => ActorKind::System,
                _ => ActorKind::Anonymous,
            },
            actor_id: row.try_get("actor_id")?,
            actor_label: row.try_get("actor_label")?,
            action: row.try_get("action")?,
            object_type: row.try_get("object_type")?,
            object_id: row.try_get("object_id")?,
            outcome: match outcome.as_str() {
                "success" => Outcome::Success,
                "denied" => Outcome::Denied,
                _ => Outcome::Failure,
            },
            address: row.try_get("address")?,
            user_agent: row.try_get("user_agent")?,
            grant_id: row.try_get("grant_id")?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// The verdict on one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub chain: String,
    pub entries: u64,
    /// The first entry that does not verify, and why; `None` when the chain is intact.
    pub first_bad: Option<BadEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadEntry {
    pub seq: i64,
    pub reason: String,
}

/// Checks one chain's entries (in stored order) against each other and against its head.
pub(crate) fn verify_chain(
    chain: &str,
    rows: &[(AuditEntry, String)],
    head: Option<(i64, String)>,
) -> ChainReport {
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1;
    let bad = |seq: i64, reason: String| ChainReport {
        chain: chain.to_owned(),
        entries: rows.len() as u64,
        first_bad: Some(BadEntry { seq, reason }),
    };
    for (entry, at_text) in rows {
        if entry.seq != expected_seq {
            return bad(
                entry.seq,
                format!(
                    "sequence number {} where {expected_seq} was expected (an entry was deleted or moved)",
                    entry.seq
                ),
            );
        }
        if entry.prev_hash != prev {
            return bad(
                entry.seq,
                "its link to the previous entry does not match (an earlier entry was changed, deleted or reordered)".into(),
            );
        }
        let recomputed = entry_hash(&prev, chain, entry.seq, at_text, &entry.event);
        if recomputed != entry.hash {
            return bad(
                entry.seq,
                "its contents do not match its hash (the entry was edited)".into(),
            );
        }
        prev = entry.hash.clone();
        expected_seq += 1;
    }
    match head {
        Some((seq, hash)) if seq != expected_seq - 1 || hash != prev => bad(
            expected_seq,
            format!(
                "the chain ends at entry {} but its head records entry {seq} (entries were removed from the end, or the head was changed)",
                expected_seq - 1
            ),
        ),
        None if !rows.is_empty() => bad(1, "the chain has no head record".into()),
        _ => ChainReport {
            chain: chain.to_owned(),
            entries: rows.len() as u64,
            first_bad: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_neutralised() {
        assert_eq!(clean("a\nb\x1b[31m", 100), "a\u{fffd}b\u{fffd}[31m");
        assert_eq!(clean("abcdef", 3), "abc");
    }

    #[test]
    fn hash_covers_every_field() {
        let e = AuditEvent::new("auth.login", Outcome::Success).actor(ActorKind::User, "u1", "a@b");
        let h = entry_hash(GENESIS, "installation", 1, "t", &e);
        let changed = [
            e.clone().outcome(Outcome::Failure),
            e.clone().object("x", "y"),
            e.clone().from_client("1.2.3.4", ""),
            e.clone().grant(Some("g")),
            e.clone().detail(serde_json::json!({"k": 1})),
            e.clone().actor(ActorKind::User, "u2", "a@b"),
        ];
        for c in changed {
            assert_ne!(entry_hash(GENESIS, "installation", 1, "t", &c), h);
        }
        assert_ne!(entry_hash(GENESIS, "installation", 2, "t", &e), h);
        assert_ne!(entry_hash(GENESIS, "ws_1", 1, "t", &e), h);
        assert_ne!(entry_hash(GENESIS, "installation", 1, "u", &e), h);
    }
}
