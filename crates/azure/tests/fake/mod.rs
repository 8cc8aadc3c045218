//! A local stand-in for the token endpoint, Azure Resource Manager (Resource Graph included) and
//! Microsoft Graph, replaying the JSON fixtures of tests/fixtures. It checks what it is sent
//! (method, path, api-version, bearer token of the right audience, token request form) and answers
//! 400/401 when a request is wrong, so that tests fail on a wrong request.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

pub const TENANT: &str = "5f1c2a3b-7d4e-4c1a-9b2f-0e6d8a7c1b23";
pub const SUB: &str = "00000000-0000-0000-0000-0000000000a1";
pub const CLIENT_ID: &str = "9d000000-0000-4000-8000-000000000001";
pub const SECRET: &str = "s3cr3t~Value.With-Specials_42";

#[derive(Default)]
pub struct Knobs {
    /// Path prefix → number of 429 answers still to give (Retry-After: `retry_after`).
    pub throttle: HashMap<String, u32>,
    pub retry_after: String,
    /// Throttle like Resource Graph: `x-ms-user-quota-resets-after: 00:00:SS` instead of
    /// Retry-After.
    pub quota_header: bool,
    /// Path prefixes answering 403 Forbidden.
    pub forbid: Vec<String>,
    /// Path prefixes answering a body that is not what the API documents.
    pub malformed: Vec<String>,
    /// The next ARM call is refused as if its token had expired.
    pub expire_next_arm: bool,
    /// The first ARM call on a path with this prefix revokes the token it carries (401): the
    /// calls in flight with the same token are refused too.
    pub revoke_arm_on: Option<String>,
    /// Every ARM call is refused with 401, whatever the token.
    pub reject_arm_tokens: bool,
    /// Replaces a fixture answer: Graph/ARM key (`path` or `path?query`) → body.
    pub overrides: HashMap<String, Value>,
    /// Replaces the pages of a Resource Graph table.
    pub table_overrides: HashMap<String, Value>,
}

#[derive(Default)]
pub struct Stats {
    /// Token requests per scope.
    pub token_requests: HashMap<String, u32>,
    /// Every API request, `METHOD path?query` (decoded).
    pub requests: Vec<String>,
    /// Resource Graph request bodies.
    pub graph_queries: Vec<Value>,
}

pub struct Fake {
    pub base: String,
    pub knobs: Mutex<Knobs>,
    pub stats: Mutex<Stats>,
    valid: Mutex<HashSet<String>>,
    counter: Mutex<u32>,
    arm: Value,
    graph: Value,
    resource_graph: Value,
}

fn fixture(name: &str) -> Value {
    // Also compiled into the CLI tests (crates/cli/tests/cloud.rs): a path from the sibling crate.
    let path = format!(
        "{}/../azure/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

fn substitute(v: &Value, base: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("{{base}}", base)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, base)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, base)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"error": {"code": code, "message": message}}).to_string(),
    )
        .into_response()
}

fn ok(body: &Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

impl Fake {
    pub async fn start() -> Arc<Fake> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let fake = Arc::new(Fake {
            arm: substitute(&fixture("arm.json"), &base),
            graph: substitute(&fixture("graph.json"), &base),
            resource_graph: fixture("resource-graph.json"),
            base,
            knobs: Mutex::new(Knobs {
                retry_after: "1".into(),
                ..Knobs::default()
            }),
            stats: Mutex::new(Stats::default()),
            valid: Mutex::new(HashSet::new()),
            counter: Mutex::new(0),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn config(&self) -> rampart_azure::AzureScanConfig {
        rampart_azure::AzureScanConfig {
            tenant_id: TENANT.into(),
            client_id: CLIENT_ID.into(),
            client_secret: rampart_azure::ClientSecret::new(SECRET),
            subscriptions: Some(vec![SUB.into()]),
            login_endpoint: Some(self.base.clone()),
            arm_endpoint: Some(self.base.clone()),
            graph_endpoint: Some(self.base.clone()),
            allow_insecure_http: true,
            max_attempts: Some(3),
            max_backoff: Some(std::time::Duration::from_secs(2)),
            ..Default::default()
        }
    }

    pub fn requests(&self, prefix: &str) -> usize {
        self.stats
            .lock()
            .expect("stats")
            .requests
            .iter()
            .filter(|r| r.starts_with(prefix))
            .count()
    }

    pub fn token_requests(&self, scope: &str) -> u32 {
        self.stats
            .lock()
            .expect("stats")
            .token_requests
            .get(scope)
            .copied()
            .unwrap_or(0)
    }

    fn issue(&self, audience: &str) -> String {
        let mut n = self.counter.lock().expect("counter");
        *n += 1;
        let t = format!("{audience}-token-{n}");
        self.valid.lock().expect("valid").insert(t.clone());
        t
    }

    fn token(&self, body: &[u8]) -> Response {
        let form: HashMap<String, String> = String::from_utf8_lossy(body)
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| {
                let dec = |s: &str| {
                    percent_decode_str(&s.replace('+', " "))
                        .decode_utf8_lossy()
                        .to_string()
                };
                (dec(k), dec(v))
            })
            .collect();
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        let scope = get("scope").to_string();
        *self
            .stats
            .lock()
            .expect("stats")
            .token_requests
            .entry(scope.clone())
            .or_default() += 1;
        if get("grant_type") != "client_credentials" {
            return (StatusCode::BAD_REQUEST, json!({"error": "unsupported_grant_type", "error_description": "AADSTS70003: bad grant"}).to_string()).into_response();
        }
        if get("client_id") != CLIENT_ID || get("client_secret") != SECRET {
            return (
                StatusCode::UNAUTHORIZED,
                [("content-type", "application/json")],
                json!({
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0000\r\nCorrelation ID: 1111",
                    "error_codes": [7000215],
                    "timestamp": "2026-11-30 01:00:00Z",
                })
                .to_string(),
            )
                .into_response();
        }
        let audience = match scope.as_str() {
            "https://management.azure.com/.default" => "arm",
            "https://graph.microsoft.com/.default" => "graph",
            _ => {
                return (StatusCode::BAD_REQUEST, json!({"error": "invalid_scope", "error_description": "AADSTS70011: bad scope"}).to_string()).into_response();
            }
        };
        let t = self.issue(audience);
        ok(
            &json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": t}),
        )
    }

    fn authorised(&self, headers: &HeaderMap, audience: &str) -> Option<String> {
        let h = headers.get("authorization")?.to_str().ok()?;
        let t = h.strip_prefix("Bearer ")?;
        if !t.starts_with(&format!("{audience}-token-")) {
            return None;
        }
        self.valid
            .lock()
            .expect("valid")
            .contains(t)
            .then(|| t.to_string())
    }

    /// Applies the knobs to a path: Some(response) when one of them answers.
    fn knob(&self, path: &str) -> Option<Response> {
        let mut k = self.knobs.lock().expect("knobs");
        let retry_after = k.retry_after.clone();
        let header = if k.quota_header {
            "x-ms-user-quota-resets-after"
        } else {
            "retry-after"
        };
        let value = if k.quota_header {
            format!("00:00:{:0>2}", retry_after)
        } else {
            retry_after.clone()
        };
        if let Some((_, n)) = k
            .throttle
            .iter_mut()
            .find(|(p, n)| path.starts_with(p.as_str()) && **n > 0)
        {
            *n -= 1;
            return Some(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [
                        ("content-type", "application/json"),
                        (header, value.as_str()),
                    ],
                    json!({"error": {"code": "RateLimiting", "message": "Please provide below info when asking for support: timestamp = 2026-11-30T01:00:00Z, correlationId = 1."}}).to_string(),
                )
                    .into_response(),
            );
        }
        if k.forbid.iter().any(|p| path.starts_with(p.as_str())) {
            return Some(error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ));
        }
        if k.malformed.iter().any(|p| path.starts_with(p.as_str())) {
            return Some(
                (
                    StatusCode::OK,
                    [("content-type", "text/html")],
                    "<html><body>Service Unavailable</body></html>",
                )
                    .into_response(),
            );
        }
        None
    }
}

/// The quoted text after `marker` in a query (`type =~ 'x'` → `x`).
fn quoted_after<'q>(query: &'q str, marker: &str) -> Option<&'q str> {
    let rest = &query[query.find(marker)? + marker.len()..];
    let rest = rest.trim_start().strip_prefix('\'')?;
    rest.split('\'').next()
}

/// Applies the two filters of the collector's queries that several queries on one table differ
/// by: `where type =~ 'T'` (the row's `type`, ignoring case) and `contains 'S'` (the row's
/// `properties.displayName` contains S, ignoring case, as Kusto's `contains` does). A table's
/// fixture rows (or override) can then hold rows of several types, each query getting its own.
fn filter_rows(query: &str, page: &Value) -> Value {
    let ty = quoted_after(query, "type =~").map(str::to_ascii_lowercase);
    let text = quoted_after(query, " contains ").map(str::to_ascii_lowercase);
    if ty.is_none() && text.is_none() {
        return page.clone();
    }
    let keep = |row: &Value| {
        let row_type = row["type"].as_str().unwrap_or("").to_ascii_lowercase();
        let name = row["properties"]["displayName"]
            .as_str()
            .unwrap_or("")
            .to_ascii_lowercase();
        ty.as_ref().is_none_or(|t| *t == row_type)
            && text.as_ref().is_none_or(|t| name.contains(t.as_str()))
    };
    let mut out = page.clone();
    if let Some(Value::Array(rows)) = out.get_mut("data") {
        rows.retain(keep);
        let n = rows.len();
        out["count"] = json!(n);
    }
    out
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri
        .query()
        .map(|q| percent_decode_str(q).decode_utf8_lossy().to_string());
    if path == format!("/{TENANT}/oauth2/v2.0/token") {
        if method != Method::POST {
            return error(StatusCode::METHOD_NOT_ALLOWED, "method", "POST only");
        }
        if !headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        {
            return error(StatusCode::BAD_REQUEST, "invalid_request", "form expected");
        }
        if let Some(r) = fake.knob(&path) {
            return r;
        }
        return fake.token(&body);
    }
    let full = match &query {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };
    fake.stats
        .lock()
        .expect("stats")
        .requests
        .push(format!("{method} {full}"));
    if path.starts_with("/v1.0/") || path.starts_with("/beta/") {
        if fake.authorised(&headers, "graph").is_none() {
            return error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience.",
            );
        }
        if method != Method::GET {
            return error(StatusCode::BAD_REQUEST, "BadRequest", "GET only");
        }
        if let Some(r) = fake.knob(&full) {
            return r;
        }
        let key = full.clone();
        if let Some(v) = fake.knobs.lock().expect("knobs").overrides.get(&key) {
            return ok(v);
        }
        return match fake.graph.get(&key) {
            Some(v) => ok(v),
            None => error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Resource not found for the segment, or an unexpected query: {key}"),
            ),
        };
    }
    // Azure Resource Manager.
    let Some(token) = fake.authorised(&headers, "arm") else {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        );
    };
    {
        let mut k = fake.knobs.lock().expect("knobs");
        if k.reject_arm_tokens {
            return error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            );
        }
        if k.revoke_arm_on
            .as_deref()
            .is_some_and(|p| path.starts_with(p))
        {
            k.revoke_arm_on = None;
            fake.valid.lock().expect("valid").remove(&token);
            return error(
                StatusCode::UNAUTHORIZED,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            );
        }
        if k.expire_next_arm {
            k.expire_next_arm = false;
            fake.valid.lock().expect("valid").remove(&token);
            return error(
                StatusCode::UNAUTHORIZED,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            );
        }
    }
    let mut api_version = None;
    let mut rest = Vec::new();
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=') {
            Some(("api-version", v)) => api_version = Some(v.to_string()),
            _ => rest.push(pair.to_string()),
        }
    }
    let Some(api_version) = api_version else {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    };
    if let Some(r) = fake.knob(&path) {
        return r;
    }
    if path == "/providers/Microsoft.ResourceGraph/resources" {
        if method != Method::POST {
            return error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "POST");
        }
        if api_version != "2022-10-01" {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersionParameter",
                "api-version",
            );
        }
        let Ok(req) = serde_json::from_slice::<Value>(&body) else {
            return error(StatusCode::BAD_REQUEST, "InvalidRequestContent", "not JSON");
        };
        fake.stats
            .lock()
            .expect("stats")
            .graph_queries
            .push(req.clone());
        let subs_ok = req["subscriptions"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s == SUB));
        if !subs_ok || req["options"]["resultFormat"] != "objectArray" {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "subscriptions and resultFormat=objectArray expected",
            );
        }
        let query = req["query"].as_str().unwrap_or("");
        let table = query.split_whitespace().next().unwrap_or("");
        let overridden = fake
            .knobs
            .lock()
            .expect("knobs")
            .table_overrides
            .get(table)
            .cloned();
        let pages_value = overridden.unwrap_or_else(|| fake.resource_graph[table].clone());
        let Some(pages) = pages_value.as_array() else {
            return error(StatusCode::BAD_REQUEST, "InvalidQuery", "unknown table");
        };
        let page = match req["options"]["$skipToken"].as_str() {
            None => 0,
            Some(t) => match t
                .strip_prefix("page-")
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) => n,
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidSkipToken",
                        "bad $skipToken",
                    );
                }
            },
        };
        return match pages.get(page) {
            Some(p) => ok(&filter_rows(query, p)),
            None => error(StatusCode::BAD_REQUEST, "InvalidSkipToken", "no such page"),
        };
    }
    if method != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "GET");
    }
    let key = if rest.is_empty() {
        path.clone()
    } else {
        format!("{path}?{}", rest.join("&"))
    };
    if let Some(v) = fake.knobs.lock().expect("knobs").overrides.get(&key) {
        return ok(v);
    }
    match fake.arm.get(&key) {
        Some(entry) => {
            if entry["api-version"] != api_version.as_str() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidApiVersionParameter",
                    &format!("The api-version '{api_version}' is invalid for {path}."),
                );
            }
            ok(&entry["body"])
        }
        None => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The Resource '{path}' was not found."),
        ),
    }
}
