//! OpenID Connect single sign-on against a real OpenID Provider: npm `oidc-provider` (installed
//! by `scripts/test-deps`, started here on 127.0.0.1 by `tests/oidc/provider.mjs`). The whole
//! flow runs over HTTP: Rampart's start route, the provider's dev-interaction login and consent
//! pages, Rampart's callback (ASVS V3.5, V2.x, V4.1).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use common::{TestServer, form_token, set_cookie_value};
use rampart_store::{AuditFilter, Page, Role};
use reqwest::Url;
use reqwest::header::{COOKIE, LOCATION};

const CLIENT_ID: &str = "rampart-test";
const CLIENT_SECRET: &str = "test-client-secret-0123456789abcdef";
const ORG: &str = "acme-org";
const WS: &str = "acme-sso";
const OWNER: &str = "owner@example.test";
const OWNER_PASSWORD: &str = "owner correct horse battery";

/// The running `oidc-provider`; killed when dropped.
struct OidcProvider {
    child: Child,
    issuer: String,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tests/oidc/provider.mjs` with one client whose redirect URI is Rampart's callback.
/// Fails (never skips) when the provider or node is missing.
fn start_provider(rampart_base: &str) -> OidcProvider {
    let dir = std::env::var("RAMPART_OIDC_PROVIDER_DIR").unwrap_or_else(|_| {
        panic!(
            "RAMPART_OIDC_PROVIDER_DIR is not set: the SSO tests need npm oidc-provider; \
             run `eval \"$(scripts/test-deps)\"` first"
        )
    });
    assert!(
        std::path::Path::new(&dir)
            .join("node_modules/oidc-provider")
            .is_dir(),
        "oidc-provider is not installed in {dir}: run `eval \"$(scripts/test-deps)\"`"
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc/provider.mjs");
    let clients = serde_json::json!([{
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": format!("{rampart_base}/sso/callback"),
    }]);
    let mut child = Command::new("node")
        .arg(script)
        .arg("0")
        .env("RAMPART_OIDC_PROVIDER_DIR", &dir)
        .env("OIDC_CLIENTS", clients.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}): install Node.js and run `eval \"$(scripts/test-deps)\"`")
        });
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let issuer = line
        .trim()
        .strip_prefix("oidc-provider ready ")
        .unwrap_or_else(|| panic!("oidc-provider did not start: {line:?}"))
        .to_string();
    OidcProvider { child, issuer }
}

/// Rampart with an organization `acme-org` holding workspace `acme-sso` (owner: OWNER), and the
/// provider running.
struct Setup {
    t: TestServer,
    provider: OidcProvider,
    owner_session: String,
}

async fn setup() -> Setup {
    let t = common::spawn().await;
    let org = t.store.create_organization(ORG, "Acme Org").await.unwrap();
    t.store
        .create_workspace_in(&org.id, WS, "Acme SSO")
        .await
        .unwrap();
    let owner = t.store.create_user(OWNER, OWNER_PASSWORD).await.unwrap();
    let scope = t.store.operator_scope(WS).await.unwrap().unwrap();
    t.store
        .set_membership(&scope, &owner.id, Role::Owner)
        .await
        .unwrap();
    let provider = start_provider(&t.base);
    let owner_session = t.login(OWNER, OWNER_PASSWORD).await;
    Setup {
        t,
        provider,
        owner_session,
    }
}

impl Setup {
    async fn csrf(&self) -> String {
        let resp = self
            .t
            .get(&format!("/w/{WS}"), Some(&self.owner_session))
            .await;
        assert_eq!(resp.status(), 200);
        form_token(&resp.text().await.unwrap())
    }

    async fn put_config(&self, body: serde_json::Value) -> reqwest::Response {
        let csrf = self.csrf().await;
        self.t
            .client
            .put(self.t.url(&format!("/api/v1/workspaces/{WS}/sso")))
            .header(
                COOKIE,
                format!("__Host-rampart_session={}", self.owner_session),
            )
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Configures SSO for the organization: domain example.test, analysts by default.
    async fn configure(&self) {
        let resp = self
            .put_config(serde_json::json!({
                "issuer": self.provider.issuer,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "allowed_domains": ["example.test"],
                "default_role": "analyst",
            }))
            .await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    }

    /// A browser: trusts Rampart's certificate, keeps cookies, follows no redirects by itself.
    fn browser(&self) -> reqwest::Client {
        let pem = std::fs::read(&self.t.server.cert_path).unwrap();
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap()
    }

    /// Drives the flow from `/sso/{org}/start` through the provider's login (as `login`) and
    /// consent pages, up to (not including) Rampart's callback; answers the callback URL.
    async fn authorize(&self, browser: &reqwest::Client, login: &str) -> Url {
        let mut url = Url::parse(&self.t.url(&format!("/sso/{ORG}/start"))).unwrap();
        let mut resp = browser.get(url.clone()).send().await.unwrap();
        for _ in 0..20 {
            if resp.status().is_redirection() {
                let location = resp.headers()[LOCATION].to_str().unwrap().to_string();
                url = url.join(&location).unwrap();
                if url.path() == "/sso/callback" {
                    return url;
                }
                resp = browser.get(url.clone()).send().await.unwrap();
                continue;
            }
            assert_eq!(resp.status(), 200, "at {url}");
            let html = resp.text().await.unwrap();
            let action = attribute(&html, "action=\"").expect("a form on the provider's page");
            let target = url.join(&action).unwrap();
            let form: Vec<(&str, &str)> = if html.contains("name=\"prompt\" value=\"login\"") {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else if html.contains("name=\"prompt\" value=\"consent\"") {
                vec![("prompt", "consent")]
            } else {
                panic!("unexpected provider page at {url}: {html}");
            };
            resp = browser.post(target).form(&form).send().await.unwrap();
        }
        panic!("the flow did not come back to /sso/callback");
    }

    async fn audit_reasons(&self) -> Vec<(String, String, String)> {
        let page = self
            .t
            .store
            .installation_audit_log(
                &AuditFilter {
                    action: Some("auth.sso_login".into()),
                    ..Default::default()
                },
                Page::new(100, 0),
            )
            .await
            .unwrap();
        page.items
            .iter()
            .map(|e| {
                (
                    e.event.outcome.as_str().to_string(),
                    e.event.detail["reason"].as_str().unwrap_or("").to_string(),
                    e.event.actor_label.clone(),
                )
            })
            .collect()
    }
}

fn attribute(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}

/// V3.5 / issue 6.5: the full authorization-code flow with PKCE, state and nonce against
/// oidc-provider: a new user with a verified email of an allowed domain is created, joins the
/// default workspace with the default role, and gets a working session. Signing in again reuses
/// the account and membership.
#[tokio::test]
async fn v3_5_sso_login_creates_user_with_jit_membership() {
    let s = setup().await;
    s.configure().await;
    let browser = s.browser();
    let callback = s.authorize(&browser, "carol@example.test").await;
    // The authorization request carried PKCE S256, state and nonce (visible in the callback's
    // state; the request itself is checked by the provider, which requires PKCE).
    let pairs: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    assert!(pairs.contains_key("code") && pairs.contains_key("state"));
    assert_eq!(pairs.get("iss"), Some(&s.provider.issuer));

    let resp = browser.get(callback.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    common::assert_security_headers(&resp, "SSO callback");
    let session = set_cookie_value(&resp, "__Host-rampart_session").expect("session cookie");
    let html = resp.text().await.unwrap();
    assert!(html.contains("url=/\""), "{html}");

    let me = s.t.get_json("/api/v1/me", &session).await;
    assert_eq!(me["email"], "carol@example.test");
    assert_eq!(
        me["mfa_verified"], false,
        "the dev IdP reports no MFA (amr)"
    );
    let workspaces = s.t.get_json("/api/v1/workspaces", &session).await;
    let slugs: Vec<_> = workspaces["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["slug"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(slugs, [WS]);
    let user =
        s.t.store
            .user_by_email("carol@example.test")
            .await
            .unwrap()
            .unwrap();
    let scope = s.t.store.operator_scope(WS).await.unwrap().unwrap();
    let members = s.t.store.list_members(&scope).await.unwrap();
    let carol = members.iter().find(|m| m.user_id == user.id).unwrap();
    assert_eq!(carol.role, Role::Analyst);
    // An SSO-created account has no usable password.
    assert!(
        s.t.store
            .verify_password("carol@example.test", "")
            .await
            .unwrap()
            .is_none()
    );

    // Audited: the sign-in in the installation chain, the join in the workspace chain.
    assert_eq!(
        s.audit_reasons().await,
        [(
            "success".to_string(),
            String::new(),
            "carol@example.test".to_string()
        )]
    );
    let joins =
        s.t.store
            .scoped(&scope)
            .audit_log(
                &AuditFilter {
                    action: Some("member.jit_join".into()),
                    ..Default::default()
                },
                Page::new(10, 0),
            )
            .await
            .unwrap();
    assert_eq!(joins.total, 1);
    assert_eq!(joins.items[0].event.detail["role"], "analyst");

    // A second sign-in: same account, no second join, a new session id.
    let browser = s.browser();
    let callback = s.authorize(&browser, "carol@example.test").await;
    let resp = browser.get(callback).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let second = set_cookie_value(&resp, "__Host-rampart_session").unwrap();
    assert_ne!(second, session);
    assert_eq!(s.t.get_json("/api/v1/me", &second).await["id"], user.id);
    let joins =
        s.t.store
            .scoped(&scope)
            .audit_log(
                &AuditFilter {
                    action: Some("member.jit_join".into()),
                    ..Default::default()
                },
                Page::new(10, 0),
            )
            .await
            .unwrap();
    assert_eq!(joins.total, 1);
    for report in s.t.store.verify_audit().await.unwrap() {
        assert!(report.first_bad.is_none(), "{report:?}");
    }
    s.t.server.shutdown().await.unwrap();
}

/// V3.5 (state): a callback is accepted once; a replay with the same state, a forged state and
/// a state from another browser are refused and start no session.
#[tokio::test]
async fn v3_5_sso_state_is_single_use_and_bound_to_the_browser() {
    let s = setup().await;
    s.configure().await;

    // Tampered / unknown state, even with a matching cookie.
    let plain = s.t.client.clone();
    let resp = plain
        .get(s.t.url("/sso/callback?code=abc&state=forged-state"))
        .header(COOKIE, "__Host-rampart_sso=forged-state")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(set_cookie_value(&resp, "__Host-rampart_session").is_none());

    // A real callback URL opened by another browser (no binding cookie): refused, and the
    // sign-in in flight is not burnt by it.
    let browser = s.browser();
    let callback = s.authorize(&browser, "dave@example.test").await;
    let resp = plain.get(callback.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(set_cookie_value(&resp, "__Host-rampart_session").is_none());

    // The state edited in the URL: refused.
    let mut edited = callback.clone();
    let pairs: Vec<(String, String)> = callback.query_pairs().into_owned().collect();
    let state = pairs.iter().find(|(k, _)| k == "state").unwrap().1.clone();
    edited.query_pairs_mut().clear().extend_pairs(
        pairs
            .iter()
            .map(|(k, v)| (k.as_str(), if k == "state" { "x" } else { v.as_str() })),
    );
    let resp = browser.get(edited).send().await.unwrap();
    assert_eq!(resp.status(), 400);

    // The right browser: accepted once.
    let resp = browser.get(callback.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(set_cookie_value(&resp, "__Host-rampart_session").is_some());

    // Replayed with the binding cookie (an attacker who saw both): refused.
    let resp = plain
        .get(callback)
        .header(COOKIE, format!("__Host-rampart_sso={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(set_cookie_value(&resp, "__Host-rampart_session").is_none());

    let reasons: Vec<String> = s
        .audit_reasons()
        .await
        .into_iter()
        .rev()
        .map(|(outcome, reason, _)| format!("{outcome}:{reason}"))
        .collect();
    assert_eq!(
        reasons,
        [
            "failure:unknown_state",
            "failure:state_mismatch",
            "failure:state_mismatch",
            "success:",
            "failure:unknown_state",
        ]
    );
    s.t.server.shutdown().await.unwrap();
}

/// V3.5 / issue 6.5: a verified email outside the allowed domains is refused and no account is
/// created.
#[tokio::test]
async fn v3_5_sso_refuses_email_domain_not_allowed() {
    let s = setup().await;
    s.configure().await;
    let browser = s.browser();
    let callback = s.authorize(&browser, "eve@evil.test").await;
    let resp = browser.get(callback).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert!(set_cookie_value(&resp, "__Host-rampart_session").is_none());
    assert!(
        s.t.store
            .user_by_email("eve@evil.test")
            .await
            .unwrap()
            .is_none()
    );
    let reasons = s.audit_reasons().await;
    assert_eq!(reasons[0].0, "failure");
    assert_eq!(reasons[0].1, "domain_not_allowed");
    s.t.server.shutdown().await.unwrap();
}

/// V3.5 / issue 6.5: an email the IdP has not verified is refused, no account created.
#[tokio::test]
async fn v3_5_sso_refuses_unverified_email() {
    let s = setup().await;
    s.configure().await;
    let browser = s.browser();
    let callback = s.authorize(&browser, "unverified-frank@example.test").await;
    let resp = browser.get(callback).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert!(set_cookie_value(&resp, "__Host-rampart_session").is_none());
    assert!(
        s.t.store
            .user_by_email("unverified-frank@example.test")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(s.audit_reasons().await[0].1, "email_not_verified");
    s.t.server.shutdown().await.unwrap();
}

/// V3.5: Rampart configured with another client id than the one the provider issues tokens
/// for: the provider refuses the unknown client before any code is issued, and a configured
/// client with a wrong secret gets no token. (Audience and signature checks on the ID token
/// itself are unit-tested in `sso::tests` with locally generated RSA keys.)
#[tokio::test]
async fn v3_5_sso_wrong_client_or_secret_is_refused() {
    let s = setup().await;
    s.configure().await;
    // Wrong secret: the token exchange fails, no session.
    let resp = s
        .put_config(serde_json::json!({
            "issuer": s.provider.issuer,
            "client_id": CLIENT_ID,
            "client_secret": "not-the-secret-0123456789",
            "allowed_domains": ["example.test"],
            "default_role": "viewer",
        }))
        .await;
    assert_eq!(resp.status(), 200);
    let browser = s.browser();
    let callback = s.authorize(&browser, "gina@example.test").await;
    let resp = browser.get(callback).send().await.unwrap();
    assert_eq!(resp.status(), 502);
    assert!(set_cookie_value(&resp, "__Host-rampart_session").is_none());
    assert!(
        s.t.store
            .user_by_email("gina@example.test")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(s.audit_reasons().await[0].1, "provider_unreachable");
    s.t.server.shutdown().await.unwrap();
}

/// V4.1 / V8.3 (secrets write-only): the SSO configuration API needs an owner/admin, validates
/// the issuer (https, http only on loopback), never returns the client secret, and is audited.
#[tokio::test]
async fn v4_1_sso_config_api_is_admin_only_and_secret_is_write_only() {
    let s = setup().await;
    // Nothing configured yet.
    let resp =
        s.t.get(
            &format!("/api/v1/workspaces/{WS}/sso"),
            Some(&s.owner_session),
        )
        .await;
    assert_eq!(resp.status(), 404);
    // The secret is required the first time.
    let resp = s
        .put_config(serde_json::json!({
            "issuer": s.provider.issuer, "client_id": CLIENT_ID,
            "allowed_domains": ["example.test"], "default_role": "analyst",
        }))
        .await;
    assert_eq!(resp.status(), 400);
    // Plain http to a non-loopback issuer is refused; owners are not handed out by JIT.
    let resp = s
        .put_config(serde_json::json!({
            "issuer": "http://idp.example.com", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "allowed_domains": ["example.test"], "default_role": "analyst",
        }))
        .await;
    assert_eq!(resp.status(), 400);
    let resp = s
        .put_config(serde_json::json!({
            "issuer": s.provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "allowed_domains": ["example.test"], "default_role": "owner",
        }))
        .await;
    assert_eq!(resp.status(), 400);
    s.configure().await;
    let resp =
        s.t.get(
            &format!("/api/v1/workspaces/{WS}/sso"),
            Some(&s.owner_session),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(!text.contains(CLIENT_SECRET), "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["client_id"], CLIENT_ID);
    assert_eq!(body["client_secret_set"], true);
    assert_eq!(body["default_workspace"], WS);
    assert_eq!(body["organization"], ORG);
    assert!(
        body["redirect_uri"]
            .as_str()
            .unwrap()
            .ends_with("/sso/callback")
    );
    // Updating without a secret keeps it (the flow still works afterwards).
    let resp = s
        .put_config(serde_json::json!({
            "issuer": s.provider.issuer, "client_id": CLIENT_ID,
            "allowed_domains": ["example.test", "Example.ORG"], "default_role": "viewer",
        }))
        .await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["allowed_domains"],
        serde_json::json!(["example.test", "example.org"])
    );
    let browser = s.browser();
    let callback = s.authorize(&browser, "hank@example.org").await;
    assert_eq!(browser.get(callback).send().await.unwrap().status(), 200);

    // The secret is sealed in the database, not stored in clear.
    let sealed = common::admin_string(
        s.t.dir.path(),
        s.t.pg.as_ref(),
        "SELECT client_secret FROM sso_configs WHERE client_secret <> $1",
        "",
    )
    .await;
    assert!(sealed.starts_with("v1:") && !sealed.contains(CLIENT_SECRET));

    // A member without ManageSettings (alice is an analyst of another workspace; bob an owner
    // elsewhere) gets 404 for a workspace that is not theirs; an analyst of this one gets 403.
    let analyst =
        s.t.store
            .create_user("ann@example.test", OWNER_PASSWORD)
            .await
            .unwrap();
    let scope = s.t.store.operator_scope(WS).await.unwrap().unwrap();
    s.t.store
        .set_membership(&scope, &analyst.id, Role::Analyst)
        .await
        .unwrap();
    let ann = s.t.login("ann@example.test", OWNER_PASSWORD).await;
    let resp =
        s.t.get(&format!("/api/v1/workspaces/{WS}/sso"), Some(&ann))
            .await;
    assert_eq!(resp.status(), 403);
    let bob = s.t.login(common::BOB, common::BOB_PASSWORD).await;
    let resp =
        s.t.get(&format!("/api/v1/workspaces/{WS}/sso"), Some(&bob))
            .await;
    assert_eq!(resp.status(), 404);

    // Audited in the workspace chain, without the secret.
    let entries =
        s.t.store
            .scoped(&scope)
            .audit_log(
                &AuditFilter {
                    action: Some("sso.configure".into()),
                    ..Default::default()
                },
                Page::new(10, 0),
            )
            .await
            .unwrap();
    assert_eq!(entries.total, 2);
    let dump = serde_json::to_string(&entries.items).unwrap();
    assert!(!dump.contains(CLIENT_SECRET));
    s.t.server.shutdown().await.unwrap();
}

/// The sign-in page offers SSO by organization; the start route for an organization without
/// SSO answers 404; `/sso/start?org=` moves on to `/sso/{org}/start` without inline script.
#[tokio::test]
async fn sso_entry_points() {
    let s = setup().await;
    let resp = s.t.get("/login", None).await;
    let html = resp.text().await.unwrap();
    assert!(html.contains("action=\"/sso/start\""), "{html}");
    assert!(html.contains("Sign in with SSO"));
    assert_no_inline_script(&html);
    let resp = s.t.get(&format!("/sso/start?org={ORG}"), None).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains(&format!("url=/sso/{ORG}/start")), "{html}");
    assert_no_inline_script(&html);
    assert_eq!(
        s.t.get("/sso/start?org=Bad%20Org", None).await.status(),
        400
    );
    // Not configured yet, and unknown organizations, alike.
    assert_eq!(
        s.t.get(&format!("/sso/{ORG}/start"), None).await.status(),
        404
    );
    assert_eq!(s.t.get("/sso/nobody/start", None).await.status(), 404);
    s.t.server.shutdown().await.unwrap();
}

#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// V7.1.1 / V8.3.4: the client secret, the state, the authorization code and the session id of
/// an SSO sign-in appear in no log line (TRACE, every target) and in no byte of the data
/// directory.
#[tokio::test]
async fn v7_1_1_sso_secrets_appear_in_no_log_line_and_no_database_byte() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .json()
        .try_init()
        .unwrap();
    let s = setup().await;
    s.configure().await;
    let browser = s.browser();
    let callback = s.authorize(&browser, "ivy@example.test").await;
    let mut canaries: Vec<String> = vec![CLIENT_SECRET.to_string()];
    for (k, v) in callback.query_pairs() {
        if k == "code" || k == "state" {
            canaries.push(v.into_owned());
        }
    }
    assert_eq!(canaries.len(), 3);
    let resp = browser.get(callback).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    canaries.push(set_cookie_value(&resp, "__Host-rampart_session").unwrap());
    s.t.server.shutdown().await.unwrap();
    s.t.store.close().await;

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).to_string();
    assert!(logs.contains("sso_login"), "SSO sign-ins are logged");
    for canary in &canaries {
        assert!(
            !logs.contains(canary.as_str()),
            "a secret appears in the logs: {canary}"
        );
    }
    for path in files_under(s.t.dir.path()) {
        if path
            .file_name()
            .is_some_and(|n| n == rampart_server::VAULT_KEY_FILE_NAME)
        {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for canary in &canaries {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "a secret appears in clear in {}: {canary}",
                path.display()
            );
        }
    } // On PostgreSQL the database is not in the data directory: every byte of a dump of it.
    if let Some(server) = &s.t.pg {
        let dump = server.dump();
        for canary in &canaries {
            assert!(
                !dump.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "a secret appears in clear in the PostgreSQL database: {canary}"
            );
        }
    }
}

/// Only first-party script files: every `<script` element loads one from `/static/` and has no
/// body (the CSP forbids inline script; ASVS V14.4.3).
fn assert_no_inline_script(html: &str) {
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..];
        let end = tag.find("</script>").expect("closed script element");
        let element = &tag[..end];
        assert!(
            element.contains("src=\"/static/") && element.ends_with('>'),
            "inline or foreign script: {element}"
        );
    }
}
