//! Monitoring (issue 10.1): Prometheus metrics on their own loopback listener with bounded labels,
//! liveness and readiness probes, request ids, security alerts counted.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{ALICE, ALICE_PASSWORD};

#[tokio::test]
async fn metrics_probes_and_request_ids() {
    // A server like the harness's, with metrics on a loopback port.
    let t = common::spawn().await;
    let config = rampart_server::ServerConfig {
        data_dir: t.dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_cert: None,
        tls_key: None,
        vault_key_file: None,
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        backups: None,
        allowed_ports: Vec::new(),
        public_url: None,
    };
    let (parts, _) = common::parts(t.dir.path());
    let metrics = parts.metrics.clone();
    let server = rampart_server::start_with(config, t.store.clone(), Arc::clone(&t.catalog), parts)
        .await
        .unwrap();
    let base = format!("https://127.0.0.1:{}", server.addr.port());
    let metrics_addr = server.metrics_addr.unwrap();
    assert!(metrics_addr.ip().is_loopback());

    // Probes.
    let r = t
        .client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = r
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 36, "a UUID request id is echoed: {id}");
    let r = t
        .client
        .get(format!("{base}/readyz"))
        .header("x-request-id", "req-from-proxy-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], "req-from-proxy-1");

    // Traffic: a failed and a good sign-in, reads with ids in the path.
    let (cookie, token) = {
        let r = t.client.get(format!("{base}/login")).send().await.unwrap();
        let c = common::set_cookie_value(&r, "__Host-rampart_login_csrf").unwrap();
        (c, common::form_token(&r.text().await.unwrap()))
    };
    let r = t
        .client
        .post(format!("{base}/login"))
        .header("cookie", format!("__Host-rampart_login_csrf={cookie}"))
        .form(&[
            ("email", ALICE),
            ("password", "not the password!"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let session = t.login(ALICE, ALICE_PASSWORD).await;
    let asset = t.inventory.assets[0].id.clone();
    for path in [
        "/api/v1/workspaces/acme/summary".to_string(),
        format!("/api/v1/workspaces/acme/assets/{asset}"),
    ] {
        let r = t
            .client
            .get(format!("{base}{path}"))
            .header("cookie", format!("__Host-rampart_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    // Two jobs waiting in the queue: the queue depth.
    let acme = t.store.operator_scope("acme").await.unwrap().unwrap();
    for _ in 0..2 {
        t.store
            .enqueue_job(
                &acme,
                rampart_store::NewJob::evaluate(),
                rampart_store::audit::AuditEvent::new(
                    "job.enqueue",
                    rampart_store::audit::Outcome::Success,
                ),
            )
            .await
            .unwrap();
    }
    metrics.refresh(&t.store).await;

    let text = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "rampart_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("route=\"/api/v1/workspaces/{ws}/assets/{id}\""),
        "route templates, not paths"
    );
    assert!(!text.contains(&asset), "no raw ids in labels");
    assert!(text.contains("rampart_http_request_duration_seconds_bucket"));
    assert!(text.contains("rampart_login_failures_total 1"), "{text}");
    assert!(
        text.contains("rampart_assets{workspace=\"acme\"} 5"),
        "{text}"
    );
    assert!(text.contains("rampart_findings{workspace=\"acme\",status=\"fail\"}"));
    assert!(text.contains("rampart_database_up 1"));
    assert!(text.contains("rampart_jobs{state=\"queued\"} 2"), "{text}");
    assert!(text.contains("rampart_jobs{state=\"running\"} 0"), "{text}");
    assert!(text.contains("# EOF"), "OpenMetrics text");

    // The database goes away: readiness says 503, liveness stays 200.
    t.store.close().await;
    let r = t.client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let r = t
        .client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("rampart_database_up 0"), "{text}");
    server.shutdown().await.unwrap();
    t.server.shutdown().await.unwrap();
}

/// Repeated failed sign-ins on one account raise a security alert in real time.
#[tokio::test]
async fn repeated_failed_sign_ins_raise_an_alert() {
    let t = common::spawn().await;
    for _ in 0..rampart_store::MAX_FAILED_LOGINS_PER_ACCOUNT {
        t.post_login(ALICE, "wrong password value").await;
    }
    let alerts = t.alerts.recent.lock().unwrap().clone();
    let burst: Vec<_> = alerts
        .iter()
        .filter(|a| a.kind == "repeated_failed_logins_account")
        .collect();
    assert_eq!(burst.len(), 1, "{alerts:?}");
    assert_eq!(burst[0].subject, ALICE);
    t.server.shutdown().await.unwrap();
}
