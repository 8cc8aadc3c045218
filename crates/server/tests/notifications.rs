//! The notifications API (issue 10.3): channels and rules CRUD with the permission matrix
//! (ASVS V4.1.1, V4.2.1: `manage_settings` to change, `read_data` to read), write-only secrets
//! (ASVS V6.4.1), CEL scopes checked on the way in (ASVS V5.1.3), every change audited (ASVS
//! V7.1.3), and a channel test queued, delivered by a worker to a local receiver and shown in
//! the delivery log.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD};
use rampart_notify::{NotifyExecutor, SendConfig, Sender};
use rampart_store::{JobKind, Role};
use rampart_worker::{Worker, WorkerConfig};
use serde_json::{Value, json};

const SECRET: &str = "whsec-0123456789abcdef-api";

/// A receiver on 127.0.0.1 keeping the bodies it gets.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, Vec<u8>)>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    let app = axum::Router::new().fallback(
        move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                let sig = headers
                    .get("x-rampart-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                keep.lock().unwrap().push((sig, body.to_vec()));
                "ok"
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

#[tokio::test]
async fn channels_and_rules_are_managed_by_admins_read_by_members_and_audited() {
    let t = common::spawn().await;
    let (_, admin, admin_csrf) = t.member("adam@example.com", "acme", Role::Admin).await;
    let (_, viewer, viewer_csrf) = t.member("vera@example.com", "acme", Role::Viewer).await;
    let (url, got) = receiver().await;
    let post = |path: &str, session: &str, csrf: &str, body: Value| {
        t.with_session(t.client.post(t.url(path)), session, csrf)
            .json(&body)
    };

    // Create a webhook channel: 201, the secret never comes back.
    let r = post(
        "/api/v1/workspaces/acme/notifications/channels",
        &admin,
        &admin_csrf,
        json!({"name": "siem", "kind": "webhook", "settings": {"url": url}, "secret": SECRET}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    assert!(!text.contains(SECRET), "{text}");
    let channel: Value = serde_json::from_str(&text).unwrap();
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    assert_eq!(channel["has_secret"], true);
    assert_eq!(channel["kind"], "webhook");

    // A secret smuggled into the readable settings is refused, naming the field.
    let r = post(
        "/api/v1/workspaces/acme/notifications/channels",
        &admin,
        &admin_csrf,
        json!({"name": "x", "kind": "webhook", "settings": {"url": url, "token": "t"}, "secret": SECRET}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("settings"));
    // A non-web URL too.
    let r = post(
        "/api/v1/workspaces/acme/notifications/channels",
        &admin,
        &admin_csrf,
        json!({"name": "x", "kind": "webhook", "settings": {"url": "file:///etc/passwd"}, "secret": SECRET}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 400);

    // A rule with a CEL scope that does not compile: 400 naming the field.
    let r = post(
        "/api/v1/workspaces/acme/notifications/rules",
        &admin,
        &admin_csrf,
        json!({"name": "bad", "min_severity": "high", "channels": [channel_id], "scope": "resource.region == "}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body.to_string().contains("scope"),
        "the error names the field: {body}"
    );
    // An unknown framework, an unknown channel: 400.
    for bad in [
        json!({"name": "bad", "min_severity": "high", "channels": [channel_id], "frameworks": ["no-such-framework"]}),
        json!({"name": "bad", "min_severity": "high", "channels": ["chn_nope"]}),
        json!({"name": "bad", "min_severity": "high", "channels": [channel_id], "on_new": false, "on_regressed": false}),
    ] {
        let r = post(
            "/api/v1/workspaces/acme/notifications/rules",
            &admin,
            &admin_csrf,
            bad.clone(),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    let framework = t.catalog.frameworks()[0].id.clone();
    let r = post(
        "/api/v1/workspaces/acme/notifications/rules",
        &admin,
        &admin_csrf,
        json!({"name": "prod high", "min_severity": "high", "channels": [channel_id], "frameworks": [framework], "scope": "resource.region == 'eu-west-1'", "on_regressed": false}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let rule: Value = r.json().await.unwrap();
    let rule_id = rule["id"].as_str().unwrap().to_owned();
    assert_eq!(rule["on_new"], true);
    assert_eq!(rule["on_regressed"], false);
    assert_eq!(rule["scope"], "resource.region == 'eu-west-1'");

    // Update: the rule takes the new values.
    let r = t
        .with_session(
            t.client.put(t.url(&format!(
                "/api/v1/workspaces/acme/notifications/rules/{rule_id}"
            ))),
            &admin,
            &admin_csrf,
        )
        .json(
            &json!({"name": "prod critical", "min_severity": "critical", "channels": [channel_id]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["min_severity"], "critical");

    // A viewer reads channels, rules and deliveries, changes nothing; an analyst neither.
    let list = t
        .get_json("/api/v1/workspaces/acme/notifications/channels", &viewer)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(SECRET));
    let rules = t
        .get_json("/api/v1/workspaces/acme/notifications/rules", &viewer)
        .await;
    assert_eq!(rules[0]["name"], "prod critical");
    let alice = t.login(ALICE, ALICE_PASSWORD).await; // analyst
    let alice_csrf = t.csrf_of(&alice).await;
    for (who, session, csrf) in [
        ("viewer", &viewer, &viewer_csrf),
        ("analyst", &alice, &alice_csrf),
    ] {
        for path in [
            "/api/v1/workspaces/acme/notifications/channels".to_owned(),
            "/api/v1/workspaces/acme/notifications/rules".to_owned(),
            format!("/api/v1/workspaces/acme/notifications/channels/{channel_id}/test"),
        ] {
            let r = post(&path, session, csrf, json!({"name": "n", "kind": "email", "settings": {"recipients": ["a@example.com"]}, "min_severity": "low", "channels": [channel_id]}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{who} POST {path}");
        }
    }
    // Another workspace's owner sees nothing of it.
    let bob = t.login(BOB, BOB_PASSWORD).await;
    assert_eq!(
        t.get(
            &format!("/api/v1/workspaces/acme/notifications/channels/{channel_id}"),
            Some(&bob)
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        t.get(
            &format!("/api/v1/workspaces/other/notifications/channels/{channel_id}"),
            Some(&bob)
        )
        .await
        .status(),
        404
    );

    // A test message: queued (202), delivered by a worker, in the delivery log.
    let r = post(
        &format!("/api/v1/workspaces/acme/notifications/channels/{channel_id}/test"),
        &admin,
        &admin_csrf,
        json!({}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["kind"], "notify");
    let worker = Worker::new(
        t.store.clone(),
        WorkerConfig {
            lease: Duration::from_secs(5),
            heartbeat: Duration::from_millis(200),
            poll: Duration::from_millis(50),
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            scheduler: false,
        },
    )
    .with_executor(
        JobKind::Notify,
        Arc::new(NotifyExecutor {
            catalog: t.catalog.clone(),
            vault: t.vault.clone(),
            sender: Sender::new(SendConfig {
                allow_insecure: true,
                // The test peers listen on 127.0.0.1.
                allow_private_targets: true,
                ..SendConfig::default()
            })
            .unwrap(),
        }),
    );
    while worker.tick().await.unwrap().is_some() {}
    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (sig, body) = &received[0];
    let sent: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(sent["type"], "rampart.test");
    assert!(sig.starts_with("sha256="));
    let log = t
        .get_json("/api/v1/workspaces/acme/notifications/deliveries", &viewer)
        .await;
    assert_eq!(log["total"], 1);
    assert_eq!(log["items"][0]["state"], "delivered");
    assert_eq!(log["items"][0]["purpose"], "test");
    assert_eq!(log["items"][0]["channel_id"], channel_id.as_str());

    // Deleting the channel takes it out of the rule; deleting the rule: 204.
    let r = t
        .with_session(
            t.client.delete(t.url(&format!(
                "/api/v1/workspaces/acme/notifications/channels/{channel_id}"
            ))),
            &admin,
            &admin_csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let rule = t
        .get_json(
            &format!("/api/v1/workspaces/acme/notifications/rules/{rule_id}"),
            &viewer,
        )
        .await;
    assert_eq!(rule["channels"], json!([]));
    let r = t
        .with_session(
            t.client.delete(t.url(&format!(
                "/api/v1/workspaces/acme/notifications/rules/{rule_id}"
            ))),
            &admin,
            &admin_csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    // Every change is in the workspace audit log, without the secret.
    let audit = t
        .get_json("/api/v1/workspaces/acme/audit?limit=500", &admin)
        .await
        .to_string();
    for action in [
        "notification.channel.create",
        "notification.rule.create",
        "notification.rule.update",
        "notification.channel.test",
        "notification.channel.delete",
        "notification.rule.delete",
    ] {
        assert!(audit.contains(action), "{action} missing: {audit}");
    }
    assert!(!audit.contains(SECRET));
}
