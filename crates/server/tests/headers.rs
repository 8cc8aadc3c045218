//! Security headers on every response, errors included (ASVS 14.4.1–14.4.7, 8.2.1).
#![allow(clippy::unwrap_used)]

mod common;

#[tokio::test]
async fn v14_4_security_headers_on_200_401_403_404_and_400() {
    let t = common::spawn().await;
    let session = t.login(common::ALICE, common::ALICE_PASSWORD).await;

    let cases: Vec<(&str, Option<&str>, u16)> = vec![
        ("/healthz", None, 200),
        ("/login", None, 200),
        ("/static/rampart.css", None, 200),
        ("/api/openapi.json", None, 200),
        ("/api/v1/workspaces", None, 401),
        ("/api/v1/workspaces/acme/assets", None, 401),
        ("/no/such/page", None, 404),
        ("/api/v1/no/such/route", None, 404),
        ("/api/v1/workspaces/other/assets", Some(&session), 404),
        (
            "/api/v1/workspaces/acme/findings?severity=bogus",
            Some(&session),
            400,
        ),
        ("/api/v1/workspaces/acme/assets?q=%28", Some(&session), 400),
        ("/w/acme", Some(&session), 200),
        ("/w/other", Some(&session), 404),
        ("/", None, 303),
    ];
    for (path, session, status) in cases {
        let resp = t.get(path, session).await;
        assert_eq!(resp.status().as_u16(), status, "{path}");
        common::assert_security_headers(&resp, path);
        if path != "/static/rampart.css" {
            assert_eq!(
                resp.headers().get("cache-control").unwrap(),
                "no-store",
                "{path}"
            );
        }
    }

    // A state-changing request refused by the CSRF guard carries them too.
    let resp = t
        .client
        .post(t.url("/api/v1/workspaces/acme/assets"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    common::assert_security_headers(&resp, "POST without CSRF token");
    t.server.shutdown().await.unwrap();
}

/// Errors are JSON `{ "error": { "code", "message" } }` under /api.
#[tokio::test]
async fn api_errors_are_json() {
    let t = common::spawn().await;
    let resp = t.get("/api/v1/workspaces", None).await;
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert!(body["error"]["message"].is_string());

    let body: serde_json::Value = t.get("/api/nope", None).await.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    t.server.shutdown().await.unwrap();
}

/// TRACE (and TRACK) are refused everywhere, with the security headers, and echo nothing back
/// (ASVS 14.5.1); error bodies carry no internals (ASVS 7.4.1).
#[tokio::test]
async fn v14_5_1_trace_is_refused_and_errors_reveal_no_internals() {
    let t = common::spawn().await;
    let session = t.login(common::ALICE, common::ALICE_PASSWORD).await;
    for path in [
        "/",
        "/login",
        "/api/v1/workspaces",
        "/healthz",
        "/api/v1/workspaces/acme/assets",
    ] {
        for method in ["TRACE", "TRACK"] {
            let resp = t
                .client
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                    t.url(path),
                )
                .header("cookie", format!("__Host-rampart_session={session}"))
                .header("x-echo-me", "reflected-canary")
                .send()
                .await
                .unwrap();
            assert!(
                [403, 404, 405].contains(&resp.status().as_u16()),
                "{method} {path}: {}",
                resp.status()
            );
            common::assert_security_headers(&resp, path);
            let body = resp.text().await.unwrap();
            assert!(
                !body.contains("reflected-canary"),
                "{method} {path} echoed the request"
            );
        }
    }
    // Malformed input: the answer names the problem, not the implementation.
    for (path, body) in [
        ("/api/v1/workspaces/acme/assets?limit=notanumber", None),
        ("/api/v1/workspaces/acme/assets?q=%28%28%28", None),
        ("/api/v1/me/password", Some("{not json")),
    ] {
        let resp = match body {
            None => t.get(path, Some(&session)).await,
            Some(b) => {
                let csrf = t.csrf_any(&session).await;
                t.with_session(t.client.post(t.url(path)), &session, &csrf)
                    .header("content-type", "application/json")
                    .body(b)
                    .send()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(resp.status(), 400, "{path}");
        let text = resp.text().await.unwrap().to_lowercase();
        for leak in [
            "panicked",
            "sqlx",
            "sqlite",
            ".rs:",
            "stack backtrace",
            "/root/",
            "/work/",
        ] {
            assert!(
                !text.contains(leak),
                "{path}: error body reveals {leak}: {text}"
            );
        }
    }
    t.server.shutdown().await.unwrap();
}
