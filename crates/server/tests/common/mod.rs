//! Test harness: each test spawns the real HTTPS server on 127.0.0.1:0 with a fresh data
//! directory, and talks to it with reqwest trusting the generated self-signed certificate.
//!
//! The store is on the backend under test (`RAMPART_TEST_BACKEND=sqlite|postgres`): SQLite in
//! the data directory, or a throw-away PostgreSQL server per test (`pg.rs`, shared with the
//! store's tests), reached as the application role.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use rampart_model::{Evaluation, FindingStatus, Inventory};
use rampart_rules::Catalog;
use rampart_server::{MemoryMailer, RunningServer, ServerConfig};
use rampart_store::{Role, Store};
use reqwest::header::{COOKIE, SET_COOKIE};

pub const ALICE: &str = "alice@example.com";
pub const ALICE_PASSWORD: &str = "alice correct horse battery";
pub const BOB: &str = "bob@example.com";
pub const BOB_PASSWORD: &str = "bob correct horse battery";

/// A small inventory the built-in controls have opinions on: one region with an active IAM
/// Access Analyzer and one without, a bucket, an instance using a security group.
pub const SNAPSHOT: &str = r#"{"rampart_snapshot": 1, "generated_at": "2026-03-01T09:00:00Z", "source": "test"}
{"kind": "asset", "provider": "aws", "account": "111122223333", "region": "eu-west-1", "type": "aws.account.region", "native_id": "arn:aws:::111122223333:region/eu-west-1", "name": "eu-west-1", "config": {"regionName": "eu-west-1", "accessAnalyzers": [{"name": "a", "arn": "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/a", "type": "ACCOUNT", "status": "ACTIVE"}]}}
{"kind": "asset", "provider": "aws", "account": "111122223333", "region": "ap-south-1", "type": "aws.account.region", "native_id": "arn:aws:::111122223333:region/ap-south-1", "name": "ap-south-1", "config": {"regionName": "ap-south-1", "accessAnalyzers": []}}
{"kind": "asset", "provider": "aws", "account": "111122223333", "region": "eu-west-1", "type": "aws.s3.bucket", "native_id": "arn:aws:s3:::acme-logs", "name": "acme-logs", "tags": {"env": "prod", "team": "platform"}, "config": {"versioning": {"status": "Enabled"}}}
{"kind": "asset", "provider": "aws", "account": "111122223333", "region": "eu-west-1", "type": "aws.ec2.security_group", "native_id": "sg-0123", "name": "web", "config": {"groupId": "sg-0123", "ipPermissions": []}}
{"kind": "asset", "provider": "aws", "account": "111122223333", "region": "eu-west-1", "type": "aws.ec2.instance", "native_id": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc", "name": "web-1", "tags": {"env": "prod"}, "config": {"instanceId": "i-0abc"}}
{"kind": "relationship", "from": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc", "to": "sg-0123", "type": "uses"}
"#;

/// A private bucket of the other workspace.
pub const OTHER_SNAPSHOT: &str = r#"{"rampart_snapshot": 1}
{"kind": "asset", "provider": "aws", "account": "999988887777", "region": "us-east-1", "type": "aws.s3.bucket", "native_id": "arn:aws:s3:::bravo-secret", "name": "bravo-secret", "config": {}}
{"kind": "asset", "provider": "aws", "account": "999988887777", "region": "ap-south-1", "type": "aws.account.region", "native_id": "arn:aws:::999988887777:region/ap-south-1", "name": "ap-south-1", "config": {"regionName": "ap-south-1", "accessAnalyzers": []}}
"#;

#[path = "../../../store/tests/common/pg.rs"]
pub mod pg;

/// A store on the backend under test for the data directory `dir`; keep the server (if any)
/// alive as long as the store.
pub async fn open_store(dir: &Path) -> (Store, Option<pg::PgServer>) {
    open_store_on(dir, pg::backend()).await
}

/// A store on the given backend (for the tests about one backend's own features).
pub async fn open_store_on(dir: &Path, backend: pg::Backend) -> (Store, Option<pg::PgServer>) {
    match backend {
        pg::Backend::Sqlite => (Store::open_data_dir(dir).await.unwrap(), None),
        pg::Backend::Postgres => {
            let server = pg::PgServer::start().await;
            let store = Store::open_url(&server.app_url()).await.unwrap();
            (store, Some(server))
        }
    }
}

/// Every byte the database stores: the SQLite files in `dir`, or a `pg_dump`.
pub fn db_bytes(dir: &Path, pg: Option<&pg::PgServer>) -> Vec<u8> {
    match pg {
        Some(server) => server.dump(),
        None => {
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                let name = format!("{}{suffix}", rampart_store::SQLITE_FILE_NAME);
                if let Ok(b) = std::fs::read(dir.join(name)) {
                    bytes.extend(b);
                }
            }
            bytes
        }
    }
}

/// One text value read as someone holding the database (`$1` bound to `arg`).
pub async fn admin_string(dir: &Path, pg: Option<&pg::PgServer>, query: &str, arg: &str) -> String {
    use sqlx::{Connection as _, Row as _};
    match pg {
        Some(server) => {
            let mut conn = server.superuser().await;
            sqlx::query(query)
                .bind(arg)
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .get(0)
        }
        None => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.join(rampart_store::SQLITE_FILE_NAME));
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            sqlx::query(query)
                .bind(arg)
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .get(0)
        }
    }
}

pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

pub fn observed_at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().unwrap()
}

pub fn inventory(text: &str) -> Inventory {
    rampart_import::parse_snapshot("test.jsonl", text, observed_at()).unwrap()
}

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub catalog: Arc<Catalog>,
    pub server: RunningServer,
    pub client: reqwest::Client,
    pub base: String,
    /// Evaluations recorded into workspace `acme`.
    pub evaluations: Vec<Evaluation>,
    pub inventory: Inventory,
    pub other_inventory: Inventory,
    pub mailer: Arc<MemoryMailer>,
    pub alerts: Arc<rampart_server::AlertFeed>,
    pub vault: Arc<rampart_store::Vault>,
    /// The PostgreSQL server when that is the backend under test (dropped last: stops it).
    pub pg: Option<pg::PgServer>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    pub fn fails(&self) -> usize {
        self.evaluations
            .iter()
            .filter(|e| e.status == FindingStatus::Fail)
            .count()
    }

    /// GET with an optional session cookie.
    pub async fn get(&self, path: &str, session: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(s) = session {
            req = req.header(COOKIE, format!("__Host-rampart_session={s}"));
        }
        req.send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str, session: &str) -> serde_json::Value {
        let resp = self.get(path, Some(session)).await;
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }

    /// Fetches the sign-in form: (login CSRF cookie value, form token).
    pub async fn login_form(&self) -> (String, String) {
        let resp = self.get("/login", None).await;
        assert_eq!(resp.status(), 200);
        let cookie = set_cookie_value(&resp, "__Host-rampart_login_csrf").unwrap();
        let html = resp.text().await.unwrap();
        (cookie, form_token(&html))
    }

    /// Posts the sign-in form; returns the raw response.
    pub async fn post_login(&self, email: &str, password: &str) -> reqwest::Response {
        let (cookie, token) = self.login_form().await;
        self.client
            .post(self.url("/login"))
            .header(COOKIE, format!("__Host-rampart_login_csrf={cookie}"))
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Signs in; returns the session cookie value.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let resp = self.post_login(email, password).await;
        assert_eq!(resp.status(), 303, "sign-in should redirect");
        set_cookie_value(&resp, "__Host-rampart_session").expect("session cookie")
    }

    /// A request with a session cookie and its CSRF token (as the web app sends).
    pub fn with_session(
        &self,
        req: reqwest::RequestBuilder,
        session: &str,
        csrf: &str,
    ) -> reqwest::RequestBuilder {
        req.header(COOKIE, format!("__Host-rampart_session={session}"))
            .header("x-csrf-token", csrf)
    }

    /// Creates a user with a role in a workspace and signs them in: (user id, session, csrf).
    pub async fn member(
        &self,
        email: &str,
        workspace: &str,
        role: Role,
    ) -> (String, String, String) {
        let password = "member violet kettle harbour";
        let user = self.store.create_user(email, password).await.unwrap();
        let scope = self.store.operator_scope(workspace).await.unwrap().unwrap();
        self.store
            .set_membership(&scope, &user.id, role)
            .await
            .unwrap();
        let session = self.login(email, password).await;
        let csrf = self.csrf_any(&session).await;
        (user.id, session, csrf)
    }

    /// The session's CSRF token from the home page's sign-out form.
    pub async fn csrf_any(&self, session: &str) -> String {
        let resp = self.get("/", Some(session)).await;
        let resp = if resp.status() == 303 || resp.status() == 302 {
            let loc = resp
                .headers()
                .get("location")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            self.get(&loc, Some(session)).await
        } else {
            resp
        };
        form_token(&resp.text().await.unwrap())
    }

    /// The session's CSRF token, read from the sign-out form of a page.
    /// Evaluates the Rampart snapshot `text` and records it as a scan of workspace `slug`.
    pub async fn record(&self, slug: &str, source: &str, text: &str) {
        self.record_at(slug, source, text, observed_at()).await;
    }

    /// [`TestServer::record`] at a given time (scans of one test in their order).
    pub async fn record_at(&self, slug: &str, source: &str, text: &str, at: chrono::DateTime<Utc>) {
        let scope = self.store.operator_scope(slug).await.unwrap().unwrap();
        let inventory = inventory(text);
        let evaluations = self.catalog.evaluate(&inventory, at);
        let catalog = self.catalog.clone();
        self.store
            .scoped(&scope)
            .record_scan_at(
                source,
                &inventory,
                &evaluations,
                |id| catalog.control(id).map(|c| c.severity).unwrap_or_default(),
                at,
            )
            .await
            .unwrap();
    }

    pub async fn csrf_of(&self, session: &str) -> String {
        let resp = self.get("/w/acme", Some(session)).await;
        assert_eq!(resp.status(), 200);
        form_token(&resp.text().await.unwrap())
    }
}

/// The value of cookie `name` in the response's Set-Cookie headers.
pub fn set_cookie_value(resp: &reqwest::Response, name: &str) -> Option<String> {
    set_cookie_header(resp, name).and_then(|h| {
        h.split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
            .map(|(_, v)| v.to_string())
    })
}

/// The whole Set-Cookie header for cookie `name`.
pub fn set_cookie_header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// The value of the first `csrf_token` hidden input in a page.
pub fn form_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("csrf_token input") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

pub fn client_for(cert_path: &Path) -> reqwest::Client {
    install_crypto_provider();
    let pem = std::fs::read(cert_path).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .https_only(true)
        .build()
        .unwrap()
}

/// The mail sink and alert feed of the test servers.
pub fn parts(dir: &Path) -> (rampart_server::AppParts, Arc<MemoryMailer>) {
    let config = ServerConfig {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_cert: None,
        tls_key: None,
        vault_key_file: None,
        metrics_listen: None,
        backups: None,
        allowed_ports: Vec::new(),
        public_url: None,
    };
    let vault = rampart_server::load_vault(&config).unwrap();
    let mailer = Arc::new(MemoryMailer::default());
    let mut parts = rampart_server::AppParts::new(vault);
    parts.mailer = mailer.clone();
    (parts, mailer)
}

pub async fn start_server(dir: &Path, store: &Store, catalog: &Arc<Catalog>) -> RunningServer {
    start_server_with(dir, store, catalog, parts(dir).0).await
}

pub async fn start_server_with(
    dir: &Path,
    store: &Store,
    catalog: &Arc<Catalog>,
    parts: rampart_server::AppParts,
) -> RunningServer {
    install_crypto_provider();
    let config = ServerConfig {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_cert: None,
        tls_key: None,
        vault_key_file: None,
        metrics_listen: None,
        backups: None,
        allowed_ports: Vec::new(),
        public_url: None,
    };
    rampart_server::start_with(config, store.clone(), catalog.clone(), parts)
        .await
        .unwrap()
}

/// Spawns a server with two workspaces: `acme` (alice, filled from [`SNAPSHOT`]) and `other`
/// (bob, filled from [`OTHER_SNAPSHOT`]).
pub async fn spawn() -> TestServer {
    spawn_on(pg::backend()).await
}

/// [`spawn`] on the given backend, whatever `RAMPART_TEST_BACKEND` says.
pub async fn spawn_on(backend: pg::Backend) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let (store, pg) = open_store_on(dir.path(), backend).await;
    let catalog = Arc::new(Catalog::builtin().unwrap());

    let inventory = inventory(SNAPSHOT);
    let other_inventory = inventory_other();
    let evaluations = catalog.evaluate(&inventory, observed_at());
    let severity = |id: &str| catalog.control(id).map(|c| c.severity).unwrap_or_default();

    store.create_workspace("acme", "Acme Corp").await.unwrap();
    store.create_workspace("other", "Other Inc").await.unwrap();
    let acme = store.operator_scope("acme").await.unwrap().unwrap();
    let other = store.operator_scope("other").await.unwrap().unwrap();
    let alice = store.create_user(ALICE, ALICE_PASSWORD).await.unwrap();
    let bob = store.create_user(BOB, BOB_PASSWORD).await.unwrap();
    store
        .set_membership(&acme, &alice.id, Role::Analyst)
        .await
        .unwrap();
    store
        .set_membership(&other, &bob.id, Role::Owner)
        .await
        .unwrap();
    store
        .scoped(&acme)
        .record_scan_at("test", &inventory, &evaluations, severity, observed_at())
        .await
        .unwrap();
    let other_evals = catalog.evaluate(&other_inventory, observed_at());
    store
        .scoped(&other)
        .record_scan_at(
            "other",
            &other_inventory,
            &other_evals,
            severity,
            observed_at(),
        )
        .await
        .unwrap();

    let (parts, mailer) = parts(dir.path());
    let alerts = parts.alerts.clone();
    let vault = parts.vault.clone();
    let server = start_server_with(dir.path(), &store, &catalog, parts).await;
    let client = client_for(&server.cert_path);
    let base = format!("https://127.0.0.1:{}", server.addr.port());
    TestServer {
        dir,
        store,
        catalog,
        server,
        client,
        base,
        evaluations,
        inventory,
        other_inventory,
        mailer,
        alerts,
        vault,
        pg,
    }
}

fn inventory_other() -> Inventory {
    inventory(OTHER_SNAPSHOT)
}

/// Whether every `<script` of a page loads a first-party file from `/static/` (no inline script;
/// the CSP would refuse one anyway).
pub fn no_inline_script(html: &str) -> bool {
    html.match_indices("<script")
        .all(|(i, _)| html[i..].starts_with("<script src=\"/static/"))
}

/// Security headers every response must carry (ASVS 14.4.x).
pub fn assert_security_headers(resp: &reqwest::Response, what: &str) {
    let h = resp.headers();
    let get = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: missing {name}"))
            .to_string()
    };
    assert_eq!(
        get("strict-transport-security"),
        "max-age=31536000; includeSubDomains",
        "{what}"
    );
    let csp = get("content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: CSP lacks {directive}: {csp}"
        );
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
}

/// A worker's timing for tests: short leases, heartbeats and backoff, no scheduler.
pub fn quick_worker_config() -> rampart_worker::WorkerConfig {
    rampart_worker::WorkerConfig {
        lease: std::time::Duration::from_secs(5),
        heartbeat: std::time::Duration::from_millis(200),
        poll: std::time::Duration::from_millis(100),
        backoff_base: std::time::Duration::from_millis(100),
        backoff_max: std::time::Duration::from_secs(1),
        scheduler: false,
    }
}
