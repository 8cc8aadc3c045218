//! Isolation you can prove (issue 6.6; ASVS 4.1.1, 4.1.3, 4.2.1): every route of the OpenAPI
//! description is in the matrix below, and for every workspace route the callers
//! {anonymous, viewer of workspace A, admin of workspace B, installation operator without a
//! grant} get 401, 403 or 404 for workspace A's objects, never the data (the viewer legitimately
//! reads A, so for the viewer only the routes needing more than `read_data` are checked). Lists,
//! searches and exports made as B's admin contain none of A's ids.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeDelta, Utc};
use rampart_store::audit::{AuditEvent, Outcome};
use rampart_store::{FindingFilter, Page, Role};
use reqwest::Method;
use serde_json::{Value, json};

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// No authentication (health, OpenAPI, password reset).
    Public,
    /// A signed-in caller, about themselves (not workspace data).
    Myself,
    /// A workspace permission.
    Read,
    Write,
}

struct Route {
    method: Method,
    path: &'static str,
    need: Need,
    body: Option<Value>,
}

fn r(method: Method, path: &'static str, need: Need, body: Option<Value>) -> Route {
    Route {
        method,
        path,
        need,
        body,
    }
}

/// The matrix: every API route, what it needs, and a valid body for the state-changing ones (so
/// that the answer is about authorisation, not about a malformed request).
fn matrix() -> Vec<Route> {
    use Need::*;
    let soon = (Utc::now() + TimeDelta::hours(1)).to_rfc3339();
    vec![
        r(Method::GET, "/healthz", Public, None),
        r(Method::GET, "/readyz", Public, None),
        r(Method::GET, "/api/v1/workspaces", Myself, None),
        r(Method::GET, "/api/v1/me", Myself, None),
        r(
            Method::POST,
            "/api/v1/me/password",
            Myself,
            Some(json!({"current_password": "x", "new_password": "y"})),
        ),
        r(Method::POST, "/api/v1/me/mfa/totp", Myself, None),
        r(
            Method::POST,
            "/api/v1/me/mfa/totp/confirm",
            Myself,
            Some(json!({"code": "000000"})),
        ),
        r(
            Method::DELETE,
            "/api/v1/me/mfa",
            Myself,
            Some(json!({"code": "000000"})),
        ),
        r(
            Method::POST,
            "/api/v1/password-reset",
            Public,
            Some(json!({"email": "x@example.com"})),
        ),
        r(
            Method::POST,
            "/api/v1/password-reset/confirm",
            Public,
            Some(json!({"token": "x", "new_password": "y"})),
        ),
        r(
            Method::POST,
            "/api/v1/invitations/accept",
            Myself,
            Some(json!({"token": "x"})),
        ),
        r(
            Method::POST,
            "/api/v1/support/requests",
            Myself,
            Some(json!({"workspace": "acme", "note": "n"})),
        ),
        r(Method::GET, "/api/v1/support/grants", Myself, None),
        r(Method::GET, "/api/v1/installation/selfcheck", Myself, None),
        r(Method::GET, "/api/v1/installation/backups", Myself, None),
        r(Method::GET, "/api/v1/workspaces/{ws}/summary", Read, None),
        r(Method::GET, "/api/v1/workspaces/{ws}/assets", Read, None),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/assets/{id}",
            Read,
            None,
        ),
        r(Method::GET, "/api/v1/workspaces/{ws}/findings", Read, None),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/findings/{id}",
            Read,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/findings/{id}/exemption",
            Write,
            Some(json!({"reason": "accepted", "expires_at": soon})),
        ),
        r(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/findings/{id}/exemption",
            Write,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/findings/exemptions",
            Write,
            Some(
                json!({"finding_ids": ["fnd_0123456789abcdef0123456789abcdef"], "reason": "accepted", "expires_at": soon}),
            ),
        ),
        r(Method::GET, "/api/v1/workspaces/{ws}/controls", Read, None),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/controls/{id}",
            Read,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/custom-controls",
            Read,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/custom-controls",
            Write,
            Some(json!({
                "title": "Prod buckets",
                "severity": "high",
                "resource_types": ["aws.s3.bucket"],
                "query": "resource.tags.env == 'prod'",
            })),
        ),
        r(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/custom-controls/{id}",
            Write,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/frameworks",
            Read,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/frameworks/{id}",
            Read,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/frameworks/{id}/report",
            Write,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/frameworks/{id}/reports",
            Write,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/jobs/{id}/report",
            Write,
            None,
        ),
        r(Method::GET, "/api/v1/workspaces/{ws}/reports", Write, None),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/findings/export",
            Write,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/assets/export",
            Write,
            None,
        ),
        r(Method::GET, "/api/v1/workspaces/{ws}/scans", Read, None),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/graph/paths",
            Read,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/graph/neighbours/{id}",
            Read,
            None,
        ),
        r(Method::GET, "/api/v1/workspaces/{ws}/members", Read, None),
        r(
            Method::PATCH,
            "/api/v1/workspaces/{ws}/members/{user}",
            Write,
            Some(json!({"role": "viewer"})),
        ),
        r(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/members/{user}",
            Write,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/invitations",
            Write,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/invitations",
            Write,
            Some(json!({"email": "n@example.com", "role": "viewer"})),
        ),
        r(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/invitations/{id}",
            Write,
            None,
        ),
        r(Method::GET, "/api/v1/workspaces/{ws}/tokens", Write, None),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/tokens",
            Write,
            Some(json!({"name": "t", "role": "viewer", "expires_at": soon})),
        ),
        r(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/tokens/{id}",
            Write,
            None,
        ),
        r(Method::GET, "/api/v1/workspaces/{ws}/settings", Write, None),
        r(
            Method::PATCH,
            "/api/v1/workspaces/{ws}/settings",
            Write,
            Some(json!({"require_mfa": false})),
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/support-grants",
            Write,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/support-grants/{id}/grant",
            Write,
            Some(json!({"reason": "r", "expires_at": soon})),
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/support-grants/{id}/revoke",
            Write,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/support-grants/{id}/accesses",
            Write,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/connectors",
            Read,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/connectors",
            Write,
            Some(json!({"name": "n", "provider": "aws", "secret": {"k": "v"}})),
        ),
        r(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/connectors/{id}",
            Write,
            None,
        ),
        r(Method::GET, "/api/v1/workspaces/{ws}/audit", Write, None),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/connectors/{id}/scans",
            Write,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/connectors/{id}/checks",
            Write,
            None,
        ),
        r(
            Method::PUT,
            "/api/v1/workspaces/{ws}/connectors/{id}/schedule",
            Write,
            Some(json!({"schedule": "@daily"})),
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/evaluations",
            Write,
            None,
        ),
        r(Method::GET, "/api/v1/workspaces/{ws}/jobs", Read, None),
        r(Method::GET, "/api/v1/workspaces/{ws}/jobs/{id}", Read, None),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/jobs/{id}/cancel",
            Write,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/notifications/channels",
            Read,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/notifications/channels",
            Write,
            Some(
                json!({"name": "n", "kind": "webhook", "settings": {"url": "https://hooks.example.com/x"}, "secret": "0123456789abcdef"}),
            ),
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/notifications/channels/{id}",
            Read,
            None,
        ),
        r(
            Method::PUT,
            "/api/v1/workspaces/{ws}/notifications/channels/{id}",
            Write,
            Some(
                json!({"name": "n", "kind": "webhook", "settings": {"url": "https://hooks.example.com/y"}}),
            ),
        ),
        r(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/notifications/channels/{id}",
            Write,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/notifications/channels/{id}/test",
            Write,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/notifications/rules",
            Read,
            None,
        ),
        r(
            Method::POST,
            "/api/v1/workspaces/{ws}/notifications/rules",
            Write,
            Some(json!({"name": "r", "min_severity": "high", "channels": ["chn_x"]})),
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/notifications/rules/{id}",
            Read,
            None,
        ),
        r(
            Method::PUT,
            "/api/v1/workspaces/{ws}/notifications/rules/{id}",
            Write,
            Some(json!({"name": "r", "min_severity": "high", "channels": ["chn_x"]})),
        ),
        r(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/notifications/rules/{id}",
            Write,
            None,
        ),
        r(
            Method::GET,
            "/api/v1/workspaces/{ws}/notifications/deliveries",
            Read,
            None,
        ),
        r(Method::GET, "/api/v1/workspaces/{ws}/sso", Write, None),
        r(
            Method::PUT,
            "/api/v1/workspaces/{ws}/sso",
            Write,
            Some(json!({
                "issuer": "https://idp.example.com",
                "client_id": "c",
                "client_secret": "s",
                "allowed_domains": ["example.com"],
                "default_role": "viewer",
            })),
        ),
    ]
}

/// Workspace A's objects, by the path parameter they fill.
struct Objects {
    by_route: BTreeMap<&'static str, String>,
    /// Every id of A that must never show up in B's answers.
    all_ids: Vec<String>,
}

async fn objects_of_a(t: &common::TestServer, viewer_id: &str) -> Objects {
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    let ws = t.store.scoped(&scope);
    let asset = t
        .inventory
        .assets
        .iter()
        .find(|a| a.name == "web-1")
        .unwrap()
        .id
        .clone();
    let finding = ws
        .list_findings(&FindingFilter::default(), Page::new(1, 0))
        .await
        .unwrap()
        .items[0]
        .finding
        .id
        .clone();
    let ev = || AuditEvent::new("setup", Outcome::Success);
    let (token, _) = t
        .store
        .create_api_token(
            &scope,
            "a-token",
            Role::Viewer,
            Utc::now() + TimeDelta::days(1),
            ev(),
        )
        .await
        .unwrap();
    let (inv, _) = t
        .store
        .create_invitation(&scope, "invitee-a@example.com", Role::Viewer, ev())
        .await
        .unwrap();
    let connector = t
        .store
        .create_connector(
            &scope,
            "a-prod",
            "aws",
            &json!({}),
            b"{\"k\":\"v\"}",
            &t.vault,
            ev(),
        )
        .await
        .unwrap();
    let op = t
        .store
        .create_user("grant-op@rampart.example", "operator violet kettle")
        .await
        .unwrap();
    t.store.set_operator(&op.id, true, ev()).await.unwrap();
    let grant = t
        .store
        .request_support(&op, "acme", "needs help", ev())
        .await
        .unwrap();
    let job = t
        .store
        .enqueue_job(&scope, rampart_store::NewJob::scan(&connector.id), ev())
        .await
        .unwrap();
    let channel = t
        .store
        .create_channel(
            &scope,
            &serde_json::from_value(json!({
                "name": "a-hook",
                "kind": "webhook",
                "settings": {"url": "https://hooks.example.com/a"},
                "secret": "a-secret-0123456789",
            }))
            .unwrap(),
            &t.vault,
            ev(),
        )
        .await
        .unwrap();
    let rule = t
        .store
        .create_rule(
            &scope,
            &serde_json::from_value(json!({
                "name": "a-rule",
                "min_severity": "high",
                "channels": [channel.id],
            }))
            .unwrap(),
            ev(),
        )
        .await
        .unwrap();
    let custom = t
        .store
        .create_custom_control(
            &scope,
            &serde_json::from_value(json!({
                "title": "A's tagged buckets",
                "severity": "low",
                "resource_types": ["aws.s3.bucket"],
                "query": "resource.tags.team == 'platform'",
            }))
            .unwrap(),
            ev(),
        )
        .await
        .unwrap();
    let control = t.evaluations[0].control_id.clone();
    let framework = t.catalog.frameworks()[0].id.clone();
    let mut by_route = BTreeMap::new();
    by_route.insert("/api/v1/workspaces/{ws}/assets/{id}", asset.clone());
    by_route.insert("/api/v1/workspaces/{ws}/findings/{id}", finding.clone());
    by_route.insert(
        "/api/v1/workspaces/{ws}/findings/{id}/exemption",
        finding.clone(),
    );
    by_route.insert("/api/v1/workspaces/{ws}/controls/{id}", control);
    by_route.insert(
        "/api/v1/workspaces/{ws}/custom-controls/{id}",
        custom.id.clone(),
    );
    by_route.insert(
        "/api/v1/workspaces/{ws}/frameworks/{id}/report",
        framework.clone(),
    );
    by_route.insert(
        "/api/v1/workspaces/{ws}/frameworks/{id}/reports",
        framework.clone(),
    );
    by_route.insert("/api/v1/workspaces/{ws}/frameworks/{id}", framework);
    by_route.insert(
        "/api/v1/workspaces/{ws}/graph/neighbours/{id}",
        asset.clone(),
    );
    by_route.insert(
        "/api/v1/workspaces/{ws}/members/{user}",
        viewer_id.to_owned(),
    );
    by_route.insert("/api/v1/workspaces/{ws}/invitations/{id}", inv.id.clone());
    by_route.insert("/api/v1/workspaces/{ws}/tokens/{id}", token.id.clone());
    by_route.insert(
        "/api/v1/workspaces/{ws}/support-grants/{id}/grant",
        grant.id.clone(),
    );
    by_route.insert(
        "/api/v1/workspaces/{ws}/support-grants/{id}/revoke",
        grant.id.clone(),
    );
    by_route.insert(
        "/api/v1/workspaces/{ws}/support-grants/{id}/accesses",
        grant.id.clone(),
    );
    by_route.insert(
        "/api/v1/workspaces/{ws}/connectors/{id}",
        connector.id.clone(),
    );
    for route in [
        "/api/v1/workspaces/{ws}/connectors/{id}/scans",
        "/api/v1/workspaces/{ws}/connectors/{id}/checks",
        "/api/v1/workspaces/{ws}/connectors/{id}/schedule",
    ] {
        by_route.insert(route, connector.id.clone());
    }
    for route in [
        "/api/v1/workspaces/{ws}/jobs/{id}",
        "/api/v1/workspaces/{ws}/jobs/{id}/cancel",
        "/api/v1/workspaces/{ws}/jobs/{id}/report",
    ] {
        by_route.insert(route, job.id.clone());
    }
    for route in [
        "/api/v1/workspaces/{ws}/notifications/channels/{id}",
        "/api/v1/workspaces/{ws}/notifications/channels/{id}/test",
    ] {
        by_route.insert(route, channel.id.clone());
    }
    by_route.insert(
        "/api/v1/workspaces/{ws}/notifications/rules/{id}",
        rule.id.clone(),
    );
    Objects {
        by_route,
        all_ids: vec![
            custom.id,
            channel.id,
            rule.id,
            asset,
            finding,
            token.id,
            inv.id,
            connector.id,
            job.id,
            grant.id,
            scope.workspace_id().to_owned(),
        ],
    }
}

fn concrete(route: &Route, objects: &Objects, asset: &str) -> String {
    let mut path = route.path.replace("{ws}", "acme");
    if let Some(id) = objects.by_route.get(route.path) {
        path = path.replace("{id}", id).replace("{user}", id);
    }
    if route.path.ends_with("/graph/paths") {
        path.push_str(&format!("?to={asset}"));
    }
    path
}

#[tokio::test]
async fn v4_1_every_route_is_in_the_matrix_and_no_outsider_gets_workspace_data() {
    let t = common::spawn().await;

    // 1. The matrix covers exactly the routes of the OpenAPI description.
    let doc: Value = t.get("/api/openapi.json", None).await.json().await.unwrap();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let m = matrix();
    let in_matrix: BTreeSet<(String, String)> = m
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let missing: Vec<_> = documented.difference(&in_matrix).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the isolation matrix: {missing:?}"
    );
    let stale: Vec<_> = in_matrix.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "matrix routes not in the OpenAPI description: {stale:?}"
    );

    // 2. The callers.
    let (viewer_id, viewer, viewer_csrf) =
        t.member("viewer-a@example.com", "acme", Role::Viewer).await;
    let (_, admin_b, admin_b_csrf) = t.member("admin-b@example.com", "other", Role::Admin).await;
    let op = t
        .store
        .create_user("op@rampart.example", "operator violet kettle")
        .await
        .unwrap();
    t.store
        .set_operator(&op.id, true, AuditEvent::new("setup", Outcome::Success))
        .await
        .unwrap();
    let operator = t
        .login("op@rampart.example", "operator violet kettle")
        .await;
    let operator_csrf = t.csrf_any(&operator).await;
    let objects = objects_of_a(&t, &viewer_id).await;
    let asset = objects.by_route["/api/v1/workspaces/{ws}/assets/{id}"].clone();

    let callers: [(&str, Option<(&str, &str)>); 4] = [
        ("anonymous", None),
        ("viewer of A", Some((&viewer, &viewer_csrf))),
        ("admin of B", Some((&admin_b, &admin_b_csrf))),
        ("operator without grant", Some((&operator, &operator_csrf))),
    ];
    let mut checked = 0;
    for route in m
        .iter()
        .filter(|r| matches!(r.need, Need::Read | Need::Write))
    {
        let path = concrete(route, &objects, &asset);
        for (who, cred) in &callers {
            if *who == "viewer of A" && route.need == Need::Read {
                continue;
            }
            let mut req = t.client.request(route.method.clone(), t.url(&path));
            if let Some((session, csrf)) = cred {
                req = t.with_session(req, session, csrf);
            }
            if let Some(body) = &route.body {
                req = req.json(body);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            assert!(
                [401, 403, 404].contains(&status),
                "{who} {} {path}: {status} {text}",
                route.method
            );
            for id in &objects.all_ids {
                assert!(
                    !text.contains(id.as_str()),
                    "{who} {} {path}: answer contains {id}",
                    route.method
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 80, "{checked}");

    // 3. The state-changing calls changed nothing in A.
    let scope = t.store.operator_scope("acme").await.unwrap().unwrap();
    assert_eq!(t.store.list_api_tokens(&scope).await.unwrap().len(), 1);
    assert_eq!(t.store.list_connectors(&scope).await.unwrap().len(), 1);
    let channels = t.store.list_channels(&scope).await.unwrap();
    assert_eq!(channels.len(), 1);
    assert_eq!(
        channels[0].settings["url"], "https://hooks.example.com/a",
        "the channel was not changed"
    );
    assert_eq!(t.store.list_rules(&scope).await.unwrap().len(), 1);
    assert_eq!(t.store.custom_controls(&scope).await.unwrap().len(), 1);
    assert_eq!(
        t.store.list_invitations(&scope).await.unwrap()[0].revoked_at,
        None
    );
    assert!(
        !t.store
            .workspace_requires_mfa(scope.workspace_id())
            .await
            .unwrap()
    );

    // 4. B's lists, searches and exports contain none of A's ids.
    for path in [
        "/api/v1/workspaces",
        "/api/v1/workspaces/other/assets?limit=500",
        "/api/v1/workspaces/other/assets?q=true",
        "/api/v1/workspaces/other/findings?limit=500",
        "/api/v1/workspaces/other/scans",
        "/api/v1/workspaces/other/members",
        "/api/v1/workspaces/other/invitations",
        "/api/v1/workspaces/other/tokens",
        "/api/v1/workspaces/other/connectors",
        "/api/v1/workspaces/other/notifications/channels",
        "/api/v1/workspaces/other/notifications/rules",
        "/api/v1/workspaces/other/notifications/deliveries",
        "/api/v1/workspaces/other/custom-controls",
        "/api/v1/workspaces/other/support-grants",
        "/api/v1/workspaces/other/reports",
        "/api/v1/workspaces/other/audit?limit=500",
        "/api/v1/workspaces/other/audit?format=jsonl",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!(
        "/api/v1/workspaces/other/graph/paths?to={}",
        t.other_inventory.assets[0].id
    )]) {
        let path = path.as_str();
        let resp = t.get(path, Some(&admin_b)).await;
        assert_eq!(resp.status(), 200, "{path}");
        let text = resp.text().await.unwrap();
        for id in &objects.all_ids {
            assert!(!text.contains(id.as_str()), "B's {path} contains A's {id}");
        }
        assert!(
            !text.contains("web-1") && !text.contains("acme-logs"),
            "{path}"
        );
    }
    t.server.shutdown().await.unwrap();
}
