//! `rampart scan gcp` and `rampart scan azure` end to end: the binary collects from the
//! record/replay fakes of the collector crates (local HTTP servers serving the documented API
//! shapes; crates/gcp/tests/fake, crates/azure/tests/fake), evaluates, and answers findings and
//! exit codes like any scan. Secrets never reach the output.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod common;
use common::OnBackend as _;

#[path = "../../gcp/tests/fake/mod.rs"]
mod gcp_fake;

#[path = "../../azure/tests/fake/mod.rs"]
mod azure_fake;

use std::process::{Command, Output};

fn rampart(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.args(args)
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.on_backend().output().expect("run rampart")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `(control, asset name) → status` from `--format json` output.
fn statuses(o: &Output) -> Vec<(String, String, String)> {
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json output");
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|i| {
            (
                i["control"]["id"].as_str().unwrap_or_default().to_owned(),
                i["asset"]["name"].as_str().unwrap_or_default().to_owned(),
                i["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_gcp_collects_evaluates_and_reports_failures() {
    let fake = gcp_fake::start(gcp_fake::Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, gcp_fake::key_json(&fake)).unwrap();
    let base = fake.base();
    let (cai, ec, aa) = (
        format!("{base}/cai"),
        format!("{base}/ec"),
        format!("{base}/aa"),
    );
    let args = [
        "scan",
        "gcp",
        "--scope",
        gcp_fake::SCOPE_PARENT,
        "--credentials",
        key.to_str().unwrap(),
        "--cloudasset-endpoint",
        &cai,
        "--essentialcontacts-endpoint",
        &ec,
        "--accessapproval-endpoint",
        &aa,
        "--allow-insecure-http",
        "--format",
        "json",
        "--fail-on",
        "critical",
    ];
    let o = tokio::task::spawn_blocking({
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || rampart(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
    })
    .await
    .unwrap();
    let out = text(&o);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "complete collection: exit 0 or 1, got {:?}: {out}",
        o.status.code()
    );
    assert!(
        !out.contains("PRIVATE KEY"),
        "the key never reaches the output"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("collected "));
    let results = statuses(&o);
    assert!(
        results
            .iter()
            .any(|(c, _, s)| c == "gcp-storage-bucket-not-public" && s == "fail"),
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|(c, _, s)| c == "gcp-compute-no-default-network" && s == "fail")
    );

    // A permission error on one API: the scan finishes, names the failed call, exits 3 when
    // nothing fails at --fail-on (none here).
    let fake = gcp_fake::start(gcp_fake::Behaviour {
        forbid_iam_policy: true,
        ..gcp_fake::Behaviour::default()
    })
    .await;
    std::fs::write(&key, gcp_fake::key_json(&fake)).unwrap();
    let base = fake.base();
    let o = tokio::task::spawn_blocking({
        let key = key.clone();
        move || {
            rampart(
                &[
                    "scan",
                    "gcp",
                    "--scope",
                    gcp_fake::SCOPE_PARENT,
                    "--credentials",
                    key.to_str().unwrap(),
                    "--cloudasset-endpoint",
                    &format!("{base}/cai"),
                    "--essentialcontacts-endpoint",
                    &format!("{base}/ec"),
                    "--accessapproval-endpoint",
                    &format!("{base}/aa"),
                    "--allow-insecure-http",
                    "--fail-on",
                    "none",
                ],
                &[],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("IAM_POLICY"), "{}", text(&o));

    // Bad input names the flag.
    let o = rampart(
        &[
            "scan",
            "gcp",
            "--scope",
            "projects",
            "--credentials",
            "/nonexistent",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--scope"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_azure_collects_with_the_secret_from_the_environment() {
    let fake = azure_fake::Fake::start().await;
    let base = fake.config().arm_endpoint.unwrap();
    let o = tokio::task::spawn_blocking(move || {
        rampart(
            &[
                "scan",
                "azure",
                "--tenant-id",
                azure_fake::TENANT,
                "--client-id",
                azure_fake::CLIENT_ID,
                "--subscriptions",
                azure_fake::SUB,
                "--login-endpoint",
                &base,
                "--arm-endpoint",
                &base,
                "--graph-endpoint",
                &base,
                "--allow-insecure-http",
                "--format",
                "json",
                "--fail-on",
                "none",
            ],
            &[("AZURE_CLIENT_SECRET", azure_fake::SECRET)],
        )
    })
    .await
    .unwrap();
    let out = text(&o);
    assert!(
        !out.contains(azure_fake::SECRET),
        "the secret never reaches the output"
    );
    assert!(
        matches!(o.status.code(), Some(0) | Some(3)),
        "{:?}: {out}",
        o.status.code()
    );
    let results = statuses(&o);
    assert!(results.len() > 20, "{out}");
    assert!(
        results
            .iter()
            .any(|(c, _, s)| c.starts_with("azure-") && s == "fail"),
        "{results:?}"
    );

    // No secret in the environment: a usage error naming the flag, before any request.
    let o = rampart(
        &[
            "scan",
            "azure",
            "--tenant-id",
            azure_fake::TENANT,
            "--client-id",
            azure_fake::CLIENT_ID,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--client-secret-env"), "{}", text(&o));
}

/// A worker process running queued scans of GCP and Azure connectors (issue 9 point 5): sealed
/// credentials opened by the worker, collection from the replay fakes (endpoint overrides allowed
/// by the worker's --allow-endpoint-override), evaluation, one recorded scan, the job's result.
#[tokio::test(flavor = "multi_thread")]
async fn workers_scan_gcp_and_azure_connectors() {
    use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
    use rampart_store::{FindingFilter, JobState, NewJob, Page, Vault};
    let ev = |a: &str| {
        AuditEvent::new(a, Outcome::Success).actor(ActorKind::User, "usr_t", "t@example.com")
    };
    let gcp = gcp_fake::start(gcp_fake::Behaviour::default()).await;
    let azure = azure_fake::Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = dir.path().join("vault.key");
    std::fs::write(&key, format!("{}\n", Vault::generate_key_line("k1"))).unwrap();
    let vault = Vault::from_file(&key).unwrap();
    let store = common::open_store(&data).await;
    store.create_workspace("acme", "Acme").await.unwrap();
    let scope = store.operator_scope("acme").await.unwrap().unwrap();
    let base = gcp.base();
    let gcp_connector = store
        .create_connector(
            &scope,
            "gcp-org",
            "gcp",
            &serde_json::json!({
                "scope": gcp_fake::SCOPE_PARENT,
                "cloudasset_endpoint": format!("{base}/cai"),
                "essentialcontacts_endpoint": format!("{base}/ec"),
                "accessapproval_endpoint": format!("{base}/aa"),
                "allow_insecure_http": true,
            }),
            gcp_fake::key_json(&gcp).as_bytes(),
            &vault,
            ev("connector.create"),
        )
        .await
        .unwrap();
    let az = azure.config().arm_endpoint.unwrap();
    let azure_connector = store
        .create_connector(
            &scope,
            "azure-tenant",
            "azure",
            &serde_json::json!({
                "tenant_id": azure_fake::TENANT,
                "client_id": azure_fake::CLIENT_ID,
                "subscriptions": [azure_fake::SUB],
                "login_endpoint": az, "arm_endpoint": az, "graph_endpoint": az,
                "allow_insecure_http": true,
            }),
            serde_json::json!({"client_secret": azure_fake::SECRET})
                .to_string()
                .as_bytes(),
            &vault,
            ev("connector.create"),
        )
        .await
        .unwrap();
    let mut jobs = Vec::new();
    for c in [&gcp_connector, &azure_connector] {
        jobs.push(
            store
                .enqueue_job(&scope, NewJob::scan(&c.id), ev("job.enqueue"))
                .await
                .unwrap(),
        );
    }
    let mut worker = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["worker", "--data-dir"])
        .arg(&data)
        .arg("--vault-key-file")
        .arg(&key)
        .args([
            "--allow-endpoint-override",
            "--no-scheduler",
            "--job-poll-ms",
            "100",
        ])
        .env_remove("RAMPART_VAULT_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .on_backend()
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut done = Vec::new();
    for job in &jobs {
        loop {
            let j = store.job(&scope, &job.id).await.unwrap().unwrap();
            if matches!(
                j.state,
                JobState::Succeeded | JobState::Failed | JobState::Cancelled
            ) {
                done.push(j);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "timed out: {j:?}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let _ = worker.kill();
    let _ = worker.wait();
    for j in &done {
        assert_eq!(j.state, JobState::Succeeded, "{j:?}");
        let result = j.result.clone().unwrap();
        assert!(result["assets"].as_u64().unwrap() >= 5, "{result}");
        let text = result.to_string();
        assert!(!text.contains(azure_fake::SECRET) && !text.contains("PRIVATE KEY"));
    }
    let failing = store
        .scoped(&scope)
        .list_findings(
            &FindingFilter {
                status: Some(rampart_model::FindingStatus::Fail),
                control_id: Some("gcp-storage-bucket-not-public".into()),
                ..FindingFilter::default()
            },
            Page::new(10, 0),
        )
        .await
        .unwrap();
    assert!(failing.total > 0, "the GCP scan was recorded and evaluated");
    let scans = store
        .scoped(&scope)
        .list_scans(Page::new(10, 0))
        .await
        .unwrap();
    assert_eq!(scans.total, 2, "one scan per job");
    assert!(
        scans
            .items
            .iter()
            .any(|s| s.source.starts_with("azure: connector azure-tenant"))
    );
}
