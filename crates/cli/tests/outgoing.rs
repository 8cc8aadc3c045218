//! What the server sends out, end to end: OpenTelemetry traces to a collector (issue 10, point
//! 1), and the installation's alert channel and the server's own mail (issue 10, point 2):
//! `rampart serve` with `--alert-webhook-url`, `--alert-email` and an SMTP server. Repeated
//! failed sign-ins raise an alert that reaches a local HTTP receiver, signed, retried after a
//! 500, and the operators' mailbox on a local SMTP sink; a password reset reaches its user.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../notify/tests/peers/mod.rs"]
mod peers;

mod common;
use common::OnBackend as _;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "alert-signing-secret-for-tests";
const PASSWORD: &str = "owner correct horse battery";

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rampart(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env_remove("RAMPART_DATA_DIR")
        .env_remove("RAMPART_VAULT_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .on_backend()
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn security_alerts_reach_the_alert_webhook_and_operators_and_mail_reaches_users() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let receiver = peers::Receiver::start().await;
    receiver.script(&[500]);
    let smtp = peers::SmtpSink::start().await;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let ws = rampart(&["workspace", "create", "--data-dir", data_s, "acme"], None);
    assert!(
        ws.status.success(),
        "{}",
        String::from_utf8_lossy(&ws.stderr)
    );
    let user = rampart(
        &[
            "user",
            "create",
            "--data-dir",
            data_s,
            "owner@example.com",
            "--password-stdin",
            "--workspace",
            "acme",
            "--role",
            "owner",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(
        user.status.success(),
        "{}",
        String::from_utf8_lossy(&user.stderr)
    );

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let hook = receiver.url("/alerts");
    let smtp_port = smtp.port.to_string();
    let _server = Child(
        Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args([
                "serve",
                "--workers",
                "0",
                "--data-dir",
                data_s,
                "--listen",
                &listen,
                "--alert-webhook-url",
                &hook,
                "--alert-email",
                "ops@example.com",
                "--smtp-host",
                "127.0.0.1",
                "--smtp-port",
                &smtp_port,
                "--smtp-tls",
                "none",
                "--allow-insecure-webhooks",
                "--allow-private-webhook-targets",
            ])
            .env("RAMPART_ALERT_WEBHOOK_SECRET", SECRET)
            .env_remove("RAMPART_VAULT_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .on_backend()
            .spawn()
            .unwrap(),
    );
    let base = format!("https://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    eventually("rampart serve", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .await;

    // Wrong passwords until the account is throttled: that raises the alert.
    for _ in 0..=rampart_store::MAX_FAILED_LOGINS_PER_ACCOUNT {
        let page = client
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marker = "name=\"csrf_token\" value=\"";
        let token = page
            .split_once(marker)
            .unwrap()
            .1
            .split_once('"')
            .unwrap()
            .0;
        let resp = client
            .post(format!("{base}/login"))
            .header("origin", &base)
            .form(&[
                ("email", "owner@example.com"),
                ("password", "not the password at all"),
                ("csrf_token", token),
            ])
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error(), "{}", resp.status());
    }

    // The webhook: answered 500 first, so delivered twice, the same signed body.
    let hits = eventually("two deliveries to the alert webhook", || {
        let hits = receiver.on("/alerts");
        (hits.len() >= 2).then_some(hits)
    })
    .await;
    assert_eq!(hits[0].body, hits[1].body, "a retry resends the same alert");
    for h in &hits {
        let ts = h.header(rampart_notify::TIMESTAMP_HEADER);
        let sig = h.header(rampart_notify::SIGNATURE_HEADER);
        assert!(
            rampart_notify::verify(SECRET, &ts, &h.body, &sig),
            "bad signature {sig}"
        );
        assert!(!rampart_notify::verify(
            "another secret",
            &ts,
            &h.body,
            &sig
        ));
    }
    let alert = hits[1].json();
    assert_eq!(alert["type"], "rampart.security_alert");
    assert_eq!(alert["kind"], "repeated_failed_logins_account");
    assert!(
        !String::from_utf8_lossy(&hits[1].body).contains("not the password"),
        "the alert must not carry the attempted password"
    );

    // The operators' mailbox.
    let mail = eventually("the alert e-mail", || {
        smtp.mails()
            .into_iter()
            .find(|m| m.to.iter().any(|t| t.contains("ops@example.com")))
    })
    .await;
    assert!(
        mail.data
            .contains("Security alert: repeated_failed_logins_account"),
        "{}",
        mail.data
    );

    // The server's own mail: a password reset reaches the user over SMTP.
    let resp = client
        .post(format!("{base}/api/v1/password-reset"))
        .json(&serde_json::json!({ "email": "owner@example.com" }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let reset = eventually("the password-reset e-mail", || {
        smtp.mails()
            .into_iter()
            .find(|m| m.to.iter().any(|t| t.contains("owner@example.com")))
    })
    .await;
    assert!(
        reset.data.to_lowercase().contains("reset"),
        "{}",
        reset.data
    );
}

/// Misconfigured alert channels stop the server with a message naming the option.
#[test]
fn an_alert_webhook_without_a_secret_or_mail_without_smtp_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let out = rampart(
        &[
            "serve",
            "--data-dir",
            data_s,
            "--listen",
            &listen,
            "--alert-webhook-url",
            "https://hooks.example.com/x",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--alert-webhook-url needs --alert-webhook-secret"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = rampart(
        &[
            "serve",
            "--data-dir",
            data_s,
            "--listen",
            &listen,
            "--alert-email",
            "ops@example.com",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--alert-email needs an SMTP server"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// OpenTelemetry traces (issue 10, point 1): `serve --otlp-endpoint` exports its request spans
/// over OTLP/HTTP JSON to a collector, here a local receiver, with the service name, the route
/// and the request id of the call.
#[tokio::test]
async fn request_spans_reach_an_otlp_collector() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let collector = peers::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let endpoint = collector.url("");
    let _server = Child(
        Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["serve", "--workers", "0", "--listen", &listen, "--data-dir"])
            .arg(&data)
            .args(["--otlp-endpoint", &endpoint])
            .env("OTEL_BSP_SCHEDULE_DELAY", "200")
            .env_remove("RAMPART_VAULT_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .on_backend()
            .spawn()
            .unwrap(),
    );
    eventually("rampart serve", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .await;
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let resp = client
        .get(format!("https://127.0.0.1:{port}/healthz"))
        .header("x-request-id", "trace-me-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let attr = |attrs: &serde_json::Value, key: &str| -> Option<String> {
        attrs
            .as_array()?
            .iter()
            .find(|a| a["key"] == key)
            .and_then(|a| a["value"]["stringValue"].as_str().map(str::to_owned))
    };
    let (service, span) = eventually("the request span at the collector", || {
        collector.on("/v1/traces").iter().find_map(|r| {
            assert_eq!(r.header("content-type"), "application/json");
            let body = r.json();
            body["resourceSpans"].as_array()?.iter().find_map(|rs| {
                let service = attr(&rs["resource"]["attributes"], "service.name")?;
                rs["scopeSpans"].as_array()?.iter().find_map(|ss| {
                    ss["spans"].as_array()?.iter().find_map(|s| {
                        (attr(&s["attributes"], "request_id").as_deref() == Some("trace-me-4711"))
                            .then(|| (service.clone(), s.clone()))
                    })
                })
            })
        })
    })
    .await;
    assert_eq!(service, "rampart");
    assert_eq!(span["name"], "HTTP GET");
    assert_eq!(
        attr(&span["attributes"], "path").as_deref(),
        Some("/healthz")
    );
    assert_eq!(span["kind"], 2, "a server span: {span}");
    assert_eq!(span["traceId"].as_str().unwrap().len(), 32);
}
