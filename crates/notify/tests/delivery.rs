//! Notifications end to end, on the backend under test (`RAMPART_TEST_BACKEND`), against real
//! peers on 127.0.0.1 (tests/peers: an HTTP receiver that also answers the documented Jira Cloud
//! REST v3 shapes, and an SMTP sink): a scan records a new critical failure → a notify job is
//! queued with it → a worker delivers, signed; retries skip what was delivered; regressions
//! notify again; Slack, Teams, Jira and e-mail messages have their documented shapes; the
//! weekly digest fires once per slot.
#![allow(clippy::unwrap_used)]

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod peers;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::{at, eval, inventory};
use peers::{Receiver, SmtpSink};
use rampart_model::{FindingStatus, Inventory, Severity};
use rampart_notify::{NotifyExecutor, SendConfig, Sender, SmtpConfig, SmtpTls, verify};
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{
    Channel, ChannelInput, Job, JobKind, JobState, Page, Rule, RuleInput, Store, Vault,
    WorkspaceScope,
};
use rampart_worker::{Worker, WorkerConfig};
use serde_json::json;

const SECRET: &str = "whsec-0123456789abcdef";

fn ev(action: &str) -> AuditEvent {
    AuditEvent::new(action, Outcome::Success).actor(ActorKind::User, "usr_test", "t@example.com")
}

fn vault() -> Arc<Vault> {
    Arc::new(Vault::from_key_text(&Vault::generate_key_line("k1"), "test").unwrap())
}

/// Controls whose id says their severity.
fn severity_of(control: &str) -> Severity {
    if control.contains("critical") {
        Severity::Critical
    } else if control.contains("high") {
        Severity::High
    } else {
        Severity::Medium
    }
}

fn worker(store: &Store, vault: Arc<Vault>, send: SendConfig) -> Worker {
    let config = WorkerConfig {
        lease: Duration::from_secs(10),
        heartbeat: Duration::from_millis(200),
        poll: Duration::from_millis(20),
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        scheduler: false,
    };
    let executor = NotifyExecutor {
        catalog: Arc::new(rampart_rules::Catalog::builtin().unwrap()),
        vault,
        sender: Sender::new(send).unwrap(),
    };
    Worker::new(store.clone(), config).with_executor(JobKind::Notify, Arc::new(executor))
}

fn insecure() -> SendConfig {
    SendConfig {
        allow_insecure: true,
        // The test peers listen on 127.0.0.1.
        allow_private_targets: true,
        timeout: Duration::from_secs(5),
        ..SendConfig::default()
    }
}

async fn channel(
    store: &Store,
    scope: &WorkspaceScope,
    vault: &Vault,
    input: serde_json::Value,
) -> Channel {
    let input: ChannelInput = serde_json::from_value(input).unwrap();
    store
        .create_channel(scope, &input, vault, ev("notification.channel.create"))
        .await
        .unwrap()
}

async fn rule(store: &Store, scope: &WorkspaceScope, input: serde_json::Value) -> Rule {
    let input: RuleInput = serde_json::from_value(input).unwrap();
    store
        .create_rule(scope, &input, ev("notification.rule.create"))
        .await
        .unwrap()
}

/// Records a scan of the test inventory where `failing` controls fail on the listed assets
/// (indexes into the inventory) and pass on the others.
async fn scan(
    store: &Store,
    scope: &WorkspaceScope,
    when: DateTime<Utc>,
    results: &[(&str, &[usize])],
) -> (Inventory, String) {
    let inv = inventory(when);
    let mut evals = Vec::new();
    for (control, failing) in results {
        for (i, a) in inv.assets.iter().enumerate() {
            let status = if failing.contains(&i) {
                FindingStatus::Fail
            } else {
                FindingStatus::Pass
            };
            evals.push(eval(control, a, status));
        }
    }
    let s = store
        .scoped(scope)
        .record_scan_at("test", &inv, &evals, severity_of, when)
        .await
        .unwrap();
    (inv, s.id)
}

async fn notify_jobs(store: &Store, scope: &WorkspaceScope) -> Vec<Job> {
    store
        .list_jobs(scope, None, Page::new(100, 0))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|j| j.kind == JobKind::Notify)
        .collect()
}

/// Ticks until no job is due or running (retries included), at most ~10 s.
async fn drain(w: &Worker, store: &Store, scope: &WorkspaceScope) {
    for _ in 0..200 {
        let ran = w.tick().await.unwrap();
        if ran.is_none() {
            let open = store
                .list_jobs(scope, None, Page::new(100, 0))
                .await
                .unwrap()
                .items
                .iter()
                .any(|j| matches!(j.state, JobState::Queued | JobState::Running));
            if !open {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("jobs did not finish");
}

#[tokio::test]
async fn a_new_critical_finding_queues_a_job_and_the_worker_delivers_a_signed_webhook() {
    let db = common::open().await;
    let store = &db.store;
    let scope = common::workspace(store, "acme").await;
    let vault = vault();
    let hook = Receiver::start().await;
    let ch = channel(
        store,
        &scope,
        &vault,
        json!({"name": "siem", "kind": "webhook", "settings": {"url": hook.url("/hook")}, "secret": SECRET}),
    )
    .await;
    // The channel as the API shows it has no secret (ASVS V6.4.1).
    let shown = serde_json::to_string(&store.list_channels(&scope).await.unwrap()).unwrap();
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(ch.has_secret);
    rule(
        store,
        &scope,
        json!({"name": "critical", "min_severity": "critical", "channels": [ch.id]}),
    )
    .await;

    // A scan with a new critical failure (asset 0) and a new medium one (asset 1).
    let (inv, scan_id) = scan(
        store,
        &scope,
        at(1),
        &[
            ("demo-critical-control", &[0]),
            ("demo-medium-control", &[1]),
        ],
    )
    .await;
    let jobs = notify_jobs(store, &scope).await;
    assert_eq!(jobs.len(), 1, "one notify job queued with the scan");
    assert_eq!(jobs[0].params["scan_id"], scan_id);
    assert!(
        hook.received().is_empty(),
        "nothing sent before a worker runs"
    );

    let w = worker(store, vault.clone(), insecure());
    drain(&w, store, &scope).await;
    let got = hook.received();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    // The signature: sha256=HMAC(secret, "<timestamp>.<body>"); a wrong secret, or another
    // timestamp, does not verify.
    let timestamp = req.header("x-rampart-timestamp");
    let signature = req.header("x-rampart-signature");
    assert!(signature.starts_with("sha256="), "{signature}");
    assert!(verify(SECRET, &timestamp, &req.body, &signature));
    assert!(!verify(
        "whsec-not-the-secret",
        &timestamp,
        &req.body,
        &signature
    ));
    let later = (timestamp.parse::<i64>().unwrap() + 1).to_string();
    assert!(!verify(SECRET, &later, &req.body, &signature));
    let age = Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "timestamp is the sending time");
    let body = req.json();
    assert_eq!(body["type"], "rampart.findings");
    assert_eq!(body["workspace"], "acme");
    let findings = body["details"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "the medium finding is below the rule");
    assert_eq!(findings[0]["control_id"], "demo-critical-control");
    assert_eq!(findings[0]["severity"], "critical");
    assert_eq!(findings[0]["change"], "new");
    assert_eq!(findings[0]["asset_id"], inv.assets[0].id);

    // The delivery log.
    let log = store
        .list_deliveries(&scope, None, Page::new(50, 0))
        .await
        .unwrap();
    assert_eq!(log.total, 1);
    assert_eq!(log.items[0].state, "delivered");
    assert_eq!(log.items[0].attempts, 1);
    assert_eq!(log.items[0].findings, 1);
    assert_eq!(log.items[0].status_code, Some(200));

    // The same state again: nothing changed, no job.
    scan(
        store,
        &scope,
        at(2),
        &[
            ("demo-critical-control", &[0]),
            ("demo-medium-control", &[1]),
        ],
    )
    .await;
    assert_eq!(notify_jobs(store, &scope).await.len(), 1);

    // Resolved (no rule triggers on it; no Jira channel) → a job, but no message...
    scan(store, &scope, at(3), &[("demo-critical-control", &[])]).await;
    drain(&w, store, &scope).await;
    assert_eq!(hook.received().len(), 1);
    // ...then failing again: a regression, notified.
    scan(store, &scope, at(4), &[("demo-critical-control", &[0])]).await;
    drain(&w, store, &scope).await;
    let got = hook.received();
    assert_eq!(got.len(), 2);
    let body = got[1].json();
    assert_eq!(body["details"]["findings"][0]["change"], "regressed");
    assert!(verify(
        SECRET,
        &got[1].header("x-rampart-timestamp"),
        &got[1].body,
        &got[1].header("x-rampart-signature")
    ));
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_and_a_retry_skips_channels_already_delivered() {
    let db = common::open().await;
    let store = &db.store;
    let scope = common::workspace(store, "acme").await;
    let vault = vault();
    let flaky = Receiver::start().await;
    let steady = Receiver::start().await;
    let a = channel(
        store,
        &scope,
        &vault,
        json!({"name": "flaky", "kind": "webhook", "settings": {"url": flaky.url("/hook")}, "secret": SECRET}),
    )
    .await;
    let b = channel(
        store,
        &scope,
        &vault,
        json!({"name": "steady", "kind": "webhook", "settings": {"url": steady.url("/hook")}, "secret": SECRET}),
    )
    .await;
    rule(
        store,
        &scope,
        json!({"name": "high", "min_severity": "high", "channels": [a.id, b.id]}),
    )
    .await;
    flaky.script(&[500, 500]);
    scan(store, &scope, at(1), &[("demo-high-control", &[0, 1])]).await;
    let w = worker(store, vault.clone(), insecure());
    drain(&w, store, &scope).await;

    assert_eq!(flaky.received().len(), 3, "500, 500, then 200");
    assert_eq!(
        steady.received().len(),
        1,
        "delivered once, not on each retry"
    );
    let job = &notify_jobs(store, &scope).await[0];
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.attempts, 3);
    let log = store
        .list_deliveries(&scope, Some(&a.id), Page::new(50, 0))
        .await
        .unwrap();
    assert_eq!(log.total, 1);
    assert_eq!(log.items[0].state, "delivered");
    assert_eq!(log.items[0].attempts, 3);
    assert_eq!(log.items[0].findings, 2);
    let log = store
        .list_deliveries(&scope, Some(&b.id), Page::new(50, 0))
        .await
        .unwrap();
    assert_eq!(log.items[0].attempts, 1);
    // Every attempt signed the same body afresh.
    for r in flaky.received() {
        assert!(verify(
            SECRET,
            &r.header("x-rampart-timestamp"),
            &r.body,
            &r.header("x-rampart-signature")
        ));
    }
}

#[tokio::test]
async fn plain_http_is_refused_without_the_installation_flag() {
    // ASVS V5.2.6 (SSRF) and V9.2.1: channel URLs come from workspace admins; without
    // --allow-insecure-webhooks nothing is sent over plain http.
    let db = common::open().await;
    let store = &db.store;
    let scope = common::workspace(store, "acme").await;
    let vault = vault();
    let hook = Receiver::start().await;
    let ch = channel(
        store,
        &scope,
        &vault,
        json!({"name": "siem", "kind": "webhook", "settings": {"url": hook.url("/hook")}, "secret": SECRET}),
    )
    .await;
    store
        .enqueue_channel_test(&scope, &ch.id, ev("notification.channel.test"))
        .await
        .unwrap();
    let w = worker(store, vault.clone(), SendConfig::default());
    drain(&w, store, &scope).await;
    assert!(hook.received().is_empty());
    let job = &notify_jobs(store, &scope).await[0];
    assert_eq!(job.state, JobState::Failed);
    assert!(
        job.last_error.as_deref().unwrap_or("").contains("https"),
        "{job:?}"
    );
    let log = store
        .list_deliveries(&scope, None, Page::new(50, 0))
        .await
        .unwrap();
    assert_eq!(log.items[0].state, "failed");
    // The error never carries the secret (ASVS V7.1.1).
    assert!(!log.items[0].error.as_deref().unwrap_or("").contains(SECRET));
}

#[tokio::test]
async fn slack_and_teams_receive_their_message_formats() {
    let db = common::open().await;
    let store = &db.store;
    let scope = common::workspace(store, "acme").await;
    let vault = vault();
    let rx = Receiver::start().await;
    let slack_url = rx.url("/services/T000/B000/XXXXSECRET");
    let teams_url = rx.url("/webhookb2/teams-secret-path");
    let slack = channel(
        store,
        &scope,
        &vault,
        json!({"name": "slack", "kind": "slack", "secret": slack_url}),
    )
    .await;
    let teams = channel(
        store,
        &scope,
        &vault,
        json!({"name": "teams", "kind": "teams", "secret": teams_url}),
    )
    .await;
    // The incoming-webhook URLs embed a secret: never shown (ASVS V6.4.1).
    let shown = serde_json::to_string(&store.list_channels(&scope).await.unwrap()).unwrap();
    assert!(!shown.contains("XXXXSECRET") && !shown.contains("teams-secret-path"));
    rule(
        store,
        &scope,
        json!({"name": "chat", "min_severity": "medium", "channels": [slack.id, teams.id], "scope": "resource.type == 'aws.s3.bucket'"}),
    )
    .await;
    // Asset 0 is the bucket; asset 1 (a security group) is outside the rule's CEL scope.
    scan(store, &scope, at(1), &[("demo-critical-control", &[0, 1])]).await;
    let w = worker(store, vault.clone(), insecure());
    drain(&w, store, &scope).await;

    let s = rx.on("/services/");
    assert_eq!(s.len(), 1);
    let body = s[0].json();
    assert!(body["text"].as_str().unwrap().contains("1 finding"));
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(body["blocks"][0]["text"]["type"], "plain_text");
    assert_eq!(body["blocks"][1]["type"], "section");
    assert_eq!(body["blocks"][1]["text"]["type"], "mrkdwn");
    let text = body["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(text.contains("acme-logs"), "{text}");
    assert!(!text.contains("sg-0123"), "out of the rule's scope: {text}");

    let t = rx.on("/webhookb2/");
    assert_eq!(t.len(), 1);
    let body = t[0].json();
    assert_eq!(body["@type"], "MessageCard");
    assert_eq!(body["@context"], "https://schema.org/extensions");
    assert_eq!(body["themeColor"], "B00020");
    assert!(body["summary"].as_str().unwrap().contains("acme"));
    assert_eq!(body["sections"][0]["facts"].as_array().unwrap().len(), 1);
    assert_eq!(
        t[0].header("content-type"),
        "application/json",
        "incoming webhooks take JSON"
    );
}

#[tokio::test]
async fn jira_gets_an_issue_per_finding_group_then_a_comment_then_comment_and_transition() {
    let db = common::open().await;
    let store = &db.store;
    let scope = common::workspace(store, "acme").await;
    let vault = vault();
    let jira = Receiver::start().await;
    let ch = channel(
        store,
        &scope,
        &vault,
        json!({"name": "jira", "kind": "jira", "settings": {"site_url": jira.url(""), "project_key": "SEC", "email": "bot@example.com"}, "secret": "jira-api-token-1"}),
    )
    .await;
    rule(
        store,
        &scope,
        json!({"name": "to jira", "min_severity": "high", "channels": [ch.id]}),
    )
    .await;
    let w = worker(store, vault.clone(), insecure());

    // Two assets fail one control: one issue for the group.
    scan(store, &scope, at(1), &[("demo-critical-control", &[0, 1])]).await;
    drain(&w, store, &scope).await;
    let created = jira.on("/rest/api/3/issue");
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].method, "POST");
    assert_eq!(created[0].path, "/rest/api/3/issue");
    // Basic auth with e-mail and API token, as Jira Cloud documents.
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bot@example.com:jira-api-token-1")
    );
    assert_eq!(created[0].header("authorization"), expected);
    let fields = &created[0].json()["fields"];
    assert_eq!(fields["project"]["key"], "SEC");
    assert_eq!(fields["issuetype"]["name"], "Task");
    assert!(fields["summary"].as_str().unwrap().contains("[critical]"));
    assert_eq!(fields["description"]["type"], "doc");
    assert_eq!(fields["description"]["version"], 1);

    // A third asset fails too: a comment on SEC-1, no new issue.
    scan(
        store,
        &scope,
        at(2),
        &[("demo-critical-control", &[0, 1, 2])],
    )
    .await;
    drain(&w, store, &scope).await;
    let all = jira.received();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].method, "POST");
    assert_eq!(all[1].path, "/rest/api/3/issue/SEC-1/comment");
    assert_eq!(all[1].json()["body"]["type"], "doc");

    // One asset passes: still failing elsewhere, nothing to resolve.
    scan(store, &scope, at(3), &[("demo-critical-control", &[1, 2])]).await;
    drain(&w, store, &scope).await;
    assert_eq!(jira.received().len(), 2);

    // None fails: comment, list transitions, transition to Done.
    scan(store, &scope, at(4), &[("demo-critical-control", &[])]).await;
    drain(&w, store, &scope).await;
    let all = jira.received();
    let tail: Vec<(String, String)> = all[2..]
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        tail,
        vec![
            ("POST".into(), "/rest/api/3/issue/SEC-1/comment".into()),
            ("GET".into(), "/rest/api/3/issue/SEC-1/transitions".into()),
            ("POST".into(), "/rest/api/3/issue/SEC-1/transitions".into()),
        ]
    );
    assert_eq!(all[4].json(), json!({"transition": {"id": "31"}}));

    // Failing again after resolution: a new issue.
    scan(store, &scope, at(5), &[("demo-critical-control", &[0])]).await;
    drain(&w, store, &scope).await;
    let created = jira
        .received()
        .into_iter()
        .filter(|r| r.path == "/rest/api/3/issue")
        .count();
    assert_eq!(created, 2);
}

fn smtp(port: u16) -> SendConfig {
    SendConfig {
        allow_insecure: true,
        // The test peers listen on 127.0.0.1.
        allow_private_targets: true,
        timeout: Duration::from_secs(5),
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "rampart@example.com".into(),
        }),
        public_url: Some("https://rampart.example.com".into()),
    }
}

#[tokio::test]
async fn email_goes_through_smtp_as_text_and_html() {
    let db = common::open().await;
    let store = &db.store;
    let scope = common::workspace(store, "acme").await;
    let vault = vault();
    let sink = SmtpSink::start().await;
    let ch = channel(
        store,
        &scope,
        &vault,
        json!({"name": "mail", "kind": "email", "settings": {"recipients": ["sec@example.com", "ops@example.com"]}}),
    )
    .await;
    rule(
        store,
        &scope,
        json!({"name": "mail", "min_severity": "high", "channels": [ch.id], "on_regressed": false}),
    )
    .await;
    scan(store, &scope, at(1), &[("demo-critical-control", &[0])]).await;
    let w = worker(store, vault.clone(), smtp(sink.port));
    drain(&w, store, &scope).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    // Quoted-printable soft line breaks joined again.
    let data = m.data.replace("=\r\n", "");
    assert_eq!(m.from, "<rampart@example.com>");
    assert_eq!(m.to, vec!["<sec@example.com>", "<ops@example.com>"]);
    assert!(
        data.contains("Subject: Rampart: 1 finding in acme"),
        "{data}"
    );
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("Content-Type: text/plain"), "{data}");
    assert!(data.contains("Content-Type: text/html"), "{data}");
    assert!(data.contains("acme-logs"), "{data}");
    assert!(
        data.contains("https://rampart.example.com/w/acme"),
        "{data}"
    );

    // The rule ignores regressions: resolve, fail again → no second mail.
    scan(store, &scope, at(2), &[("demo-critical-control", &[])]).await;
    scan(store, &scope, at(3), &[("demo-critical-control", &[0])]).await;
    drain(&w, store, &scope).await;
    assert_eq!(sink.mails().len(), 1);

    // Without TLS and without the flag, e-mail is refused.
    let strict = SendConfig {
        allow_insecure: false,
        ..smtp(sink.port)
    };
    let sender = Sender::new(strict).unwrap();
    let err = sender
        .email(
            &["a@example.com".into()],
            "s",
            "t".into(),
            "<p>t</p>".into(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("--allow-insecure-webhooks"),
        "{err}"
    );

    // STARTTLS is required, not opportunistic: a server that does not offer it gets no message
    // (ASVS V9.2.1).
    let mut required = smtp(sink.port);
    if let Some(s) = required.smtp.as_mut() {
        s.tls = SmtpTls::StartTls;
    }
    let err = Sender::new(required)
        .unwrap()
        .email(
            &["a@example.com".into()],
            "s",
            "t".into(),
            "<p>t</p>".into(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("e-mail:"), "{err}");
    assert_eq!(sink.mails().len(), 1);
}

#[tokio::test]
async fn the_weekly_digest_fires_once_per_slot_to_digest_email_channels() {
    let db = common::open().await;
    let store = &db.store;
    let scope = common::workspace(store, "acme").await;
    let vault = vault();
    let sink = SmtpSink::start().await;
    channel(
        store,
        &scope,
        &vault,
        json!({"name": "digest", "kind": "email", "digest": true, "settings": {"recipients": ["ciso@example.com"]}}),
    )
    .await;
    channel(
        store,
        &scope,
        &vault,
        json!({"name": "no digest", "kind": "email", "settings": {"recipients": ["other@example.com"]}}),
    )
    .await;
    let now = Utc::now();
    scan(store, &scope, now, &[("demo-critical-control", &[0, 1])]).await;
    // The channel was created now: the first slot it takes is next Monday's.
    assert!(store.schedule_digests(now).await.unwrap().is_empty());
    let next_week = now + TimeDelta::days(7);
    let fired = store.schedule_digests(next_week).await.unwrap();
    assert_eq!(fired.len(), 1);
    // A second scheduler (or tick) in the same slot does nothing.
    assert!(store.schedule_digests(next_week).await.unwrap().is_empty());
    // A later tick in the same slot does nothing either. (The slot's own time plus 5 minutes,
    // not `next_week` plus 5: run a few minutes before Monday 08:00, that would be the next slot.)
    assert!(
        store
            .schedule_digests(rampart_store::digest_slot(next_week) + TimeDelta::minutes(5))
            .await
            .unwrap()
            .is_empty()
    );
    // The job is due at next week's slot time; bring it forward (as next week would).
    db.admin_exec(&[
        "UPDATE jobs SET run_after = '2000-01-01T00:00:00.000000Z' WHERE kind = 'notify'",
    ])
    .await;
    let w = worker(store, vault.clone(), smtp(sink.port));
    drain(&w, store, &scope).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "only the digest channel");
    let m = &mails[0];
    let data = m.data.replace("=\r\n", "");
    assert_eq!(m.to, vec!["<ciso@example.com>"]);
    assert!(data.contains("Rampart weekly digest for acme"), "{data}");
    assert!(data.contains("1 scan(s), 2 new and 0 regressed"), "{data}");
    assert!(data.contains("Top failing controls"), "{data}");
    assert!(
        data.contains("demo-critical-control - 2 asset(s)"),
        "{data}"
    );
}

#[tokio::test]
async fn a_test_message_reaches_the_channel_and_is_logged() {
    let db = common::open().await;
    let store = &db.store;
    let scope = common::workspace(store, "acme").await;
    let vault = vault();
    let hook = Receiver::start().await;
    let ch = channel(
        store,
        &scope,
        &vault,
        json!({"name": "siem", "kind": "webhook", "settings": {"url": hook.url("/t")}, "secret": SECRET}),
    )
    .await;
    let job = store
        .enqueue_channel_test(&scope, &ch.id, ev("notification.channel.test"))
        .await
        .unwrap();
    assert_eq!(job.kind, JobKind::Notify);
    let w = worker(store, vault.clone(), insecure());
    drain(&w, store, &scope).await;
    let got = hook.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["type"], "rampart.test");
    let log = store
        .list_deliveries(&scope, Some(&ch.id), Page::new(10, 0))
        .await
        .unwrap();
    assert_eq!(log.items[0].purpose, rampart_store::Purpose::Test);
    assert_eq!(log.items[0].state, "delivered");
}

#[tokio::test]
async fn an_evaluation_job_recording_new_failures_leads_to_a_delivery() {
    // The worker's own path: evaluate_and_record (record_job_scan) queues the notify job.
    let db = common::open().await;
    let store = &db.store;
    let scope = common::workspace(store, "acme").await;
    let vault = vault();
    let hook = Receiver::start().await;
    // The inventory, stored without evaluations.
    store
        .scoped(&scope)
        .record_scan_at("seed", &inventory(at(1)), &[], severity_of, at(1))
        .await
        .unwrap();
    let ch = channel(
        store,
        &scope,
        &vault,
        json!({"name": "siem", "kind": "webhook", "settings": {"url": hook.url("/hook")}, "secret": SECRET}),
    )
    .await;
    rule(
        store,
        &scope,
        json!({"name": "all", "min_severity": "info", "channels": [ch.id]}),
    )
    .await;
    assert!(notify_jobs(store, &scope).await.is_empty());
    store
        .enqueue_job(&scope, rampart_store::NewJob::evaluate(), ev("job.enqueue"))
        .await
        .unwrap();
    let catalog = Arc::new(rampart_rules::Catalog::builtin().unwrap());
    let w = worker(store, vault.clone(), insecure()).with_executor(
        JobKind::Evaluate,
        Arc::new(rampart_worker::EvaluateExecutor { catalog }),
    );
    drain(&w, store, &scope).await;
    let jobs = notify_jobs(store, &scope).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Succeeded);
    let got = hook.received();
    assert_eq!(got.len(), 1);
    let body = got[0].json();
    assert!(body["details"]["total"].as_u64().unwrap() > 0, "{body}");
    assert!(verify(
        SECRET,
        &got[0].header("x-rampart-timestamp"),
        &got[0].body,
        &got[0].header("x-rampart-signature")
    ));
}
