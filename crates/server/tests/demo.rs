//! `prepare_demo`: the one-time admin password logs in and is stored only as an argon2id hash
//! (ASVS 2.4.1, 2.1.x).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use rampart_server::{DEMO_EMAIL, prepare_demo};

fn sample() -> rampart_model::Inventory {
    let text = rampart_rules::builtin::sample_inventory();
    if text.trim().is_empty() {
        // Until the bundled sample exists, use the test snapshot.
        common::inventory(common::SNAPSHOT)
    } else {
        rampart_import::parse_snapshot("builtin:samples/demo.jsonl", text, common::observed_at())
            .unwrap()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn stored_hash(dir: &std::path::Path, pg: Option<&common::pg::PgServer>) -> String {
    common::admin_string(
        dir,
        pg,
        "SELECT password_hash FROM users WHERE email = $1",
        DEMO_EMAIL,
    )
    .await
}

/// Parses `$argon2id$v=19$m=M,t=T,p=P$salt$hash` into (m, t, p).
fn argon2_params(hash: &str) -> (u32, u32, u32) {
    let params = hash.split('$').nth(3).unwrap();
    let get = |k: &str| -> u32 {
        params
            .split(',')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    (get("m"), get("t"), get("p"))
}

/// V2.4.1: the demo password logs in; the database holds an argon2id hash with m ≥ 19456 KiB,
/// t ≥ 2, p = 1, and the plaintext appears nowhere in the database files.
#[tokio::test]
async fn v2_4_1_demo_password_logs_in_and_only_its_argon2id_hash_is_stored() {
    common::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (store, pg) = common::open_store(dir.path()).await;
    let catalog = Arc::new(rampart_rules::Catalog::builtin().unwrap());
    let inventory = sample();

    let creds = prepare_demo(&store, &catalog, &inventory).await.unwrap();
    assert_eq!(creds.email, DEMO_EMAIL);
    assert_eq!(creds.workspace, "demo");
    assert!(creds.password.len() >= 20, "V2.1.1: at least 20 characters");
    assert!(
        !format!("{creds:?}").contains(&creds.password),
        "Debug must redact"
    );
    assert_eq!(creds.scan.asset_count, inventory.assets.len() as u64);

    let server = common::start_server(dir.path(), &store, &catalog).await;
    let client = common::client_for(&server.cert_path);
    let base = format!("https://127.0.0.1:{}", server.addr.port());
    let t = LoginClient { client, base };
    let session = t
        .login(DEMO_EMAIL, &creds.password)
        .await
        .expect("demo login");
    let assets: serde_json::Value = t
        .client
        .get(format!("{}/api/v1/workspaces/demo/assets", t.base))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(assets["total"], inventory.assets.len());

    let hash = stored_hash(dir.path(), pg.as_ref()).await;
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let (m, t_cost, p) = argon2_params(&hash);
    assert!(m >= 19_456, "m = {m}");
    assert!(t_cost >= 2, "t = {t_cost}");
    assert_eq!(p, 1);
    assert!(!contains(
        &common::db_bytes(dir.path(), pg.as_ref()),
        creds.password.as_bytes()
    ));

    // Re-running the demo resets the password: the old one stops working, the new one works.
    let again = prepare_demo(&store, &catalog, &inventory).await.unwrap();
    assert_ne!(again.password, creds.password);
    assert!(t.login(DEMO_EMAIL, &creds.password).await.is_none());
    assert!(t.login(DEMO_EMAIL, &again.password).await.is_some());
    // …and ends the sessions of the old password (V3.3.3).
    let resp = t
        .client
        .get(format!("{}/api/v1/workspaces", t.base))
        .header("cookie", format!("__Host-rampart_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_ne!(stored_hash(dir.path(), pg.as_ref()).await, hash);

    server.shutdown().await.unwrap();
    store.close().await;
    let bytes = common::db_bytes(dir.path(), pg.as_ref());
    assert!(!contains(&bytes, creds.password.as_bytes()));
    assert!(!contains(&bytes, again.password.as_bytes()));
}

struct LoginClient {
    client: reqwest::Client,
    base: String,
}

impl LoginClient {
    async fn login(&self, email: &str, password: &str) -> Option<String> {
        let resp = self
            .client
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let cookie = common::set_cookie_value(&resp, "__Host-rampart_login_csrf").unwrap();
        let token = common::form_token(&resp.text().await.unwrap());
        let resp = self
            .client
            .post(format!("{}/login", self.base))
            .header("cookie", format!("__Host-rampart_login_csrf={cookie}"))
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap();
        common::set_cookie_value(&resp, "__Host-rampart_session")
    }
}
