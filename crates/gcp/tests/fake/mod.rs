//! A local stand-in for Google's token endpoint, the Cloud Asset API, the Essential Contacts API
//! and the Access Approval API. It replays fixture files written after the documented REST shapes
//! and checks each request (method, path, bearer token, query parameters), answering 400/401/404
//! like the real APIs when something is wrong, so the tests can fail.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

pub const CLIENT_EMAIL: &str = "rampart-scanner@acme-prod.iam.gserviceaccount.com";
pub const PRIVATE_KEY: &str = include_str!("../fixtures/test-key.pem");
const PUBLIC_KEY: &str = include_str!("../fixtures/test-key.pub.pem");
pub const SCOPE_PARENT: &str = "organizations/123";

/// Asset types the fake CAI accepts (a stand-in for "supported asset types").
fn known_type(t: &str) -> bool {
    !t.starts_with("bogus.")
}

/// What the fake does differently from a healthy API.
#[derive(Default, Clone)]
pub struct Behaviour {
    /// The token endpoint refuses the assertion (as for a deleted key).
    pub refuse_credentials: bool,
    /// The first access token issued is refused by the APIs with 401 (expired early).
    pub reject_first_token: bool,
    /// The first request for the first RESOURCE page answers 429 with `Retry-After: 1`.
    pub throttle_first_resource: bool,
    /// The Access Approval API always answers 429 with `Retry-After: 0`.
    pub always_throttle_access_approval: bool,
    /// IAM_POLICY listings answer 403 PERMISSION_DENIED.
    pub forbid_iam_policy: bool,
    /// ORG_POLICY listings answer a body that is not JSON.
    pub garbled_org_policy: bool,
    /// ORG_POLICY listings answer JSON whose asset has an `orgPolicy` of the wrong type.
    pub malformed_org_policy: bool,
    /// `expires_in` of the tokens issued (default 3599).
    pub token_lifetime: Option<u64>,
    /// The APIs refuse every token (a revoked grant): 401 however often it is refreshed.
    pub refuse_all_tokens: bool,
    /// The Access Approval API answers 404 (never configured).
    pub access_approval_not_found: bool,
}

pub struct FakeState {
    pub behaviour: Behaviour,
    pub token_uri: String,
    issued: AtomicUsize,
    /// Tokens the APIs accept (every token issued, unless the behaviour refuses it).
    valid_tokens: Mutex<HashSet<String>>,
    /// `METHOD path?query` of every request, in order.
    pub log: Mutex<Vec<String>>,
    throttled: AtomicUsize,
}

impl FakeState {
    pub fn tokens_issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }
    fn record(&self, line: String) {
        self.log.lock().expect("log").push(line);
    }
}

pub struct Fake {
    pub addr: SocketAddr,
    pub state: Arc<FakeState>,
}

impl Fake {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

pub async fn start(behaviour: Behaviour) -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = Arc::new(FakeState {
        behaviour,
        token_uri: format!("http://{addr}/token"),
        issued: AtomicUsize::new(0),
        valid_tokens: Mutex::new(HashSet::new()),
        log: Mutex::new(Vec::new()),
        throttled: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/token", post(token))
        .route("/cai/v1/{*rest}", get(cloudasset))
        .route("/ec/v1/{*rest}", get(contacts))
        .route("/aa/v1/{*rest}", get(access_approval))
        .with_state(state.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Fake { addr, state }
}

/// The key file a user downloads, pointing at the fake token endpoint.
pub fn key_json(fake: &Fake) -> String {
    json!({
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": "0123456789abcdef",
        "private_key": PRIVATE_KEY,
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": fake.state.token_uri,
    })
    .to_string()
}

fn fixture(name: &str) -> Value {
    // Also compiled into the CLI tests (crates/cli/tests/cloud.rs): a path from the sibling crate.
    let path = format!(
        "{}/../gcp/tests/fixtures/api/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

fn google_error(code: StatusCode, status: &str, message: &str) -> Response {
    (
        code,
        Json(json!({"error": {"code": code.as_u16(), "message": message, "status": status}})),
    )
        .into_response()
}

fn oauth_error(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_grant", "error_description": description})),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    scope: String,
    aud: String,
    iat: i64,
    exp: i64,
}

async fn token(
    State(state): State<Arc<FakeState>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    state.record("POST /token".into());
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})),
        )
            .into_response();
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("Missing required parameter: assertion");
    };
    let key = DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).expect("public key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[state.token_uri.as_str()]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    let claims = match jsonwebtoken::decode::<Claims>(assertion, &key, &validation) {
        Ok(data) => {
            if data.header.kid.as_deref() != Some("0123456789abcdef") {
                return oauth_error("Invalid JWT: kid");
            }
            data.claims
        }
        Err(_) => return oauth_error("Invalid JWT Signature."),
    };
    if claims.scope != rampart_gcp::SCOPE
        || claims.aud != state.token_uri
        || claims.iss != CLIENT_EMAIL
    {
        return oauth_error("Invalid JWT: claims");
    }
    if claims.exp - claims.iat > 3600 || claims.exp <= claims.iat {
        return oauth_error("Invalid JWT: Token must be a short-lived token (60 minutes)");
    }
    if state.behaviour.refuse_credentials {
        return oauth_error("Invalid JWT Signature.");
    }
    let n = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!("ya29.fake-token-{n}");
    let refused =
        state.behaviour.refuse_all_tokens || (state.behaviour.reject_first_token && n == 1);
    if !refused {
        state
            .valid_tokens
            .lock()
            .expect("token")
            .insert(token.clone());
    }
    let lifetime = state.behaviour.token_lifetime.unwrap_or(3599);
    Json(json!({"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}))
        .into_response()
}

/// The refusal to send when the bearer token is not the current one.
fn check_auth(state: &FakeState, headers: &HeaderMap) -> Option<Response> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = given.is_some_and(|g| state.valid_tokens.lock().expect("token").contains(g));
    if valid {
        return None;
    }
    Some(google_error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    ))
}

fn log_line(path: &str, query: &[(String, String)]) -> String {
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("GET {path}?{}", q.join("&"))
}

async fn cloudasset(
    State(state): State<Arc<FakeState>>,
    Path(rest): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    state.record(log_line(&format!("/cai/v1/{rest}"), &query));
    if let Some(r) = check_auth(&state, &headers) {
        return r;
    }
    let Some(parent) = rest.strip_suffix("/assets") else {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Method not found.");
    };
    if parent != SCOPE_PARENT {
        return google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            &format!("The caller does not have permission on {parent}"),
        );
    }
    let one = |k: &str| -> Vec<&str> {
        query
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let content_type = one("contentType").first().copied().unwrap_or("");
    let asset_types = one("assetTypes");
    let page_size = one("pageSize").first().and_then(|s| s.parse::<u32>().ok());
    let page_token = one("pageToken").first().copied();
    if !matches!(page_size, Some(1..=1000)) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "page_size must be between 1 and 1000",
        );
    }
    if asset_types.is_empty() {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "the test fake expects assetTypes",
        );
    }
    if let Some(bad) = asset_types.iter().find(|t| !known_type(t)) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            &format!("Invalid asset type: {bad}"),
        );
    }
    let page = match (content_type, page_token) {
        ("RESOURCE", None) => {
            if state.behaviour.throttle_first_resource
                && state.throttled.fetch_add(1, Ordering::SeqCst) == 0
            {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "1")],
                    Json(json!({"error": {"code": 429, "message": "Quota exceeded for quota metric 'List assets requests'", "status": "RESOURCE_EXHAUSTED"}})),
                )
                    .into_response();
            }
            fixture("resource-1.json")
        }
        ("RESOURCE", Some("page-2")) => fixture("resource-2.json"),
        ("IAM_POLICY", None) => {
            if state.behaviour.forbid_iam_policy {
                return google_error(
                    StatusCode::FORBIDDEN,
                    "PERMISSION_DENIED",
                    "The caller does not have permission cloudasset.assets.listIamPolicy",
                );
            }
            fixture("iam-policy-1.json")
        }
        ("ORG_POLICY", None) => {
            if state.behaviour.garbled_org_policy {
                return (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    "{\"assets\": [{\"name\": ",
                )
                    .into_response();
            }
            if state.behaviour.malformed_org_policy {
                return Json(json!({"assets": [{
                    "name": "//cloudresourcemanager.googleapis.com/organizations/123",
                    "assetType": "cloudresourcemanager.googleapis.com/Organization",
                    "orgPolicy": "constraints/iam.disableServiceAccountKeyCreation"
                }]}))
                .into_response();
            }
            fixture("org-policy-1.json")
        }
        (ct, Some(t)) if ["RESOURCE", "IAM_POLICY", "ORG_POLICY"].contains(&ct) => {
            return google_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                &format!("Invalid page token {t:?}"),
            );
        }
        _ => {
            return google_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "Invalid content type",
            );
        }
    };
    // Only the asked-for asset types, like the real API.
    let mut page = page;
    if let Some(Value::Array(assets)) = page.get_mut("assets") {
        assets.retain(|a| {
            a.get("assetType")
                .and_then(Value::as_str)
                .is_some_and(|t| asset_types.contains(&t))
        });
    }
    Json(page).into_response()
}

async fn contacts(
    State(state): State<Arc<FakeState>>,
    Path(rest): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    state.record(log_line(&format!("/ec/v1/{rest}"), &query));
    if let Some(r) = check_auth(&state, &headers) {
        return r;
    }
    if rest != format!("{SCOPE_PARENT}/contacts") {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Method not found.");
    }
    let size = query
        .iter()
        .find(|(k, _)| k == "pageSize")
        .and_then(|(_, v)| v.parse::<u32>().ok());
    if size.is_some_and(|s| s == 0 || s > 100) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "page_size must be at most 100",
        );
    }
    Json(fixture("contacts.json")).into_response()
}

async fn access_approval(
    State(state): State<Arc<FakeState>>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Response {
    state.record(format!("GET /aa/v1/{rest}"));
    if let Some(r) = check_auth(&state, &headers) {
        return r;
    }
    if rest != format!("{SCOPE_PARENT}/accessApprovalSettings") {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Method not found.");
    }
    if state.behaviour.access_approval_not_found {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Settings not found.");
    }
    if state.behaviour.always_throttle_access_approval {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "0")],
            Json(json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}})),
        )
            .into_response();
    }
    Json(fixture("access-approval.json")).into_response()
}
