//! Users, password hashing (ASVS 2.4.1) and sessions (ASVS 3.2.x, 3.3.x).
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeDelta, Utc};
use rampart_store::{SESSION_ABSOLUTE_TIMEOUT, SESSION_IDLE_TIMEOUT, StoreError, session_id_hash};

const PASSWORD: &str = "Tr0ub4dor&3-plaintext-marker";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// ASVS 2.4.1: passwords are stored as argon2id hashes with m ≥ 19456 KiB, t ≥ 2, p = 1, and the
/// plaintext appears nowhere in the database files.
#[tokio::test]
async fn v2_4_1_password_stored_only_as_argon2id_hash() {
    let db = common::open().await;
    let user = db
        .store
        .create_user("Alice@Example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(user.email, "alice@example.com");

    let hash = db
        .admin_string("SELECT password_hash FROM users WHERE id = $1", &user.id)
        .await;
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
    assert!(!contains(&db.db_bytes(), PASSWORD.as_bytes()));
    db.store.close().await;
    assert!(!contains(&db.db_bytes(), PASSWORD.as_bytes()));
}

#[tokio::test]
async fn verify_password_answers_alike_for_unknown_user_and_wrong_password() {
    let db = common::open().await;
    let user = db
        .store
        .create_user("bob@example.com", PASSWORD)
        .await
        .unwrap();
    let ok = db
        .store
        .verify_password("BOB@example.com ", PASSWORD)
        .await
        .unwrap();
    assert_eq!(ok.map(|u| u.id), Some(user.id.clone()));
    assert!(
        db.store
            .verify_password("bob@example.com", "wrong password!")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .verify_password("nobody@example.com", PASSWORD)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .verify_password("not an email", PASSWORD)
            .await
            .unwrap()
            .is_none()
    );

    // Duplicate email (case-insensitively) is a conflict; weak passwords are refused.
    assert!(matches!(
        db.store.create_user("Bob@Example.com", PASSWORD).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        db.store.create_user("carol@example.com", "short").await,
        Err(StoreError::Invalid {
            field: "password",
            ..
        })
    ));

    // Password change: new one works, old one does not.
    db.store
        .set_password(&user.id, "a brand new passphrase")
        .await
        .unwrap();
    assert!(
        db.store
            .verify_password("bob@example.com", PASSWORD)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .verify_password("bob@example.com", "a brand new passphrase")
            .await
            .unwrap()
            .is_some()
    );
}

/// ASVS 3.2.2/3.2.3: session ids are 256-bit random values stored only as SHA-256.
/// ASVS 3.3.1–3.3.3: logout, idle and absolute timeouts, and password change end sessions.
#[tokio::test]
async fn v3_sessions_hashed_expiring_and_revocable() {
    let db = common::open().await;
    let user = db
        .store
        .create_user("dave@example.com", PASSWORD)
        .await
        .unwrap();
    let t0 = Utc::now();
    let s = db.store.create_session_at(&user.id, t0).await.unwrap();
    assert_eq!(s.token.len(), 43);
    assert_eq!(s.expires_at, t0 + SESSION_ABSOLUTE_TIMEOUT);

    let found = db
        .store
        .session_at(&s.token, t0 + TimeDelta::minutes(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user.id, user.id);
    assert_eq!(found.csrf_token, s.csrf_token);
    assert!(db.store.session_at("forged", t0).await.unwrap().is_none());

    // Only the hash is stored.
    db.store.close().await;
    let bytes = db.db_bytes();
    assert!(!contains(&bytes, s.token.as_bytes()));
    assert!(contains(&bytes, session_id_hash(&s.token).as_bytes()));
    let store = db.reopen().await;

    // Activity keeps it alive past one idle period…
    let mut t = t0;
    for _ in 0..3 {
        t += SESSION_IDLE_TIMEOUT - TimeDelta::minutes(1);
        assert!(store.session_at(&s.token, t).await.unwrap().is_some());
    }
    // …but idling for the timeout kills it.
    assert!(
        store
            .session_at(&s.token, t + SESSION_IDLE_TIMEOUT)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store.session_at(&s.token, t).await.unwrap().is_none(),
        "deleted, not just hidden"
    );

    // Absolute timeout.
    let s2 = store.create_session_at(&user.id, t0).await.unwrap();
    let mut t = t0;
    while t + TimeDelta::minutes(20) < t0 + SESSION_ABSOLUTE_TIMEOUT {
        t += TimeDelta::minutes(20);
        assert!(store.session_at(&s2.token, t).await.unwrap().is_some());
    }
    assert!(
        store
            .session_at(&s2.token, t0 + SESSION_ABSOLUTE_TIMEOUT)
            .await
            .unwrap()
            .is_none()
    );

    // Logout.
    let s3 = store.create_session(&user.id).await.unwrap();
    store.delete_session(&s3.token).await.unwrap();
    assert!(store.session(&s3.token).await.unwrap().is_none());

    // Password change revokes every session.
    let s4 = store.create_session(&user.id).await.unwrap();
    let s5 = store.create_session(&user.id).await.unwrap();
    assert_ne!(s4.token, s5.token);
    assert_ne!(s4.csrf_token, s5.csrf_token);
    store
        .set_password(&user.id, "another long passphrase")
        .await
        .unwrap();
    assert!(store.session(&s4.token).await.unwrap().is_none());
    assert!(store.session(&s5.token).await.unwrap().is_none());
}

/// V3.3.2: idle and absolute timeouts are configurable (defaults 30 min and 12 h).
#[tokio::test]
async fn v3_3_2_session_timeouts_are_configurable() {
    let db = common::open().await;
    assert_eq!(
        db.store.session_timeouts(),
        rampart_store::SessionTimeouts {
            idle: chrono::TimeDelta::minutes(30),
            absolute: chrono::TimeDelta::hours(12),
        }
    );
    let store = db
        .store
        .clone()
        .with_session_timeouts(rampart_store::SessionTimeouts {
            idle: chrono::TimeDelta::minutes(5),
            absolute: chrono::TimeDelta::hours(1),
        });
    let user = store
        .create_user("t@example.com", "violet kettle harbour")
        .await
        .expect("user");
    let t0 = common::at(9);
    let s = store
        .create_session_at(&user.id, t0)
        .await
        .expect("session");
    assert_eq!(s.expires_at, t0 + chrono::TimeDelta::hours(1));
    let minutes = |m| t0 + chrono::TimeDelta::minutes(m);
    // Active every 4 minutes: alive until the absolute limit.
    for m in [4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56] {
        assert!(
            store
                .session_at(&s.token, minutes(m))
                .await
                .expect("lookup")
                .is_some(),
            "{m}"
        );
    }
    assert!(
        store
            .session_at(&s.token, minutes(60))
            .await
            .expect("lookup")
            .is_none()
    );
    // Idle for 6 minutes: gone.
    let s = store
        .create_session_at(&user.id, t0)
        .await
        .expect("session");
    assert!(
        store
            .session_at(&s.token, minutes(6))
            .await
            .expect("lookup")
            .is_none()
    );
}
