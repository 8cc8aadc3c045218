//! `rampart worker` processes running connector scans from the queue, against moto_server
//! behind a gate the test opens and closes (a TCP relay holding every connection while shut):
//!
//! - a worker killed with SIGKILL in the middle of a scan loses the job when its lease lapses;
//!   a second worker reclaims it and completes it; one scan is recorded, no finding twice;
//! - a running scan cancelled through the store stops at the worker's next heartbeat, and the
//!   worker goes on to the next job;
//! - a second scan marks a deleted resource gone and keeps one whose listing failed;
//! - two `rampart worker --backup-dir` processes schedule the backup slot once and take one
//!   encrypted backup, which `rampart restore` accepts.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::OnBackend as _;
use common::moto::{Moto, env_path, start_moto, start_moto_seeded};
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{
    AssetFilter, FindingFilter, Job, JobState, NewJob, Page, Store, Vault, WorkspaceScope,
};

/// A TCP relay to `upstream` that holds every connection while shut.
struct Gate {
    port: u16,
    open: Arc<AtomicBool>,
    seen: Arc<AtomicUsize>,
}

fn relay(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Gate {
    fn new(upstream: u16) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicUsize::new(0));
        let (o, s) = (open.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { break };
                s.fetch_add(1, Ordering::SeqCst);
                let o = o.clone();
                std::thread::spawn(move || {
                    while !o.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                        return;
                    };
                    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                    let t = std::thread::spawn(move || relay(c2, s2));
                    relay(server, client);
                    let _ = t.join();
                });
            }
        });
        Gate { port, open, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    data: PathBuf,
    key: PathBuf,
    store: Store,
    scope: WorkspaceScope,
    _moto: Moto,
    gate: Gate,
}

fn ev(action: &str) -> AuditEvent {
    AuditEvent::new(action, Outcome::Success).actor(ActorKind::User, "usr_test", "t@example.com")
}

async fn setup() -> Setup {
    let moto = start_moto();
    let upstream: u16 = moto.url.rsplit(':').next().unwrap().parse().unwrap();
    let gate = Gate::new(upstream);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = dir.path().join("vault.key");
    std::fs::write(&key, format!("{}\n", Vault::generate_key_line("k1"))).unwrap();
    let vault = Vault::from_file(&key).unwrap();
    let store = common::open_store(&data).await;
    store.create_workspace("acme", "Acme").await.unwrap();
    let scope = store.operator_scope("acme").await.unwrap().unwrap();
    store
        .create_connector(
            &scope,
            "moto",
            "aws",
            &serde_json::json!({ "regions": ["us-east-1"], "endpoint_url": gate.url() }),
            br#"{"access_key_id": "testing", "secret_access_key": "testing"}"#,
            &vault,
            ev("connector.create"),
        )
        .await
        .unwrap();
    Setup {
        _dir: dir,
        data,
        key,
        store,
        scope,
        _moto: moto,
        gate,
    }
}

fn worker(data: &Path, key: &Path) -> Worker {
    worker_with(data, key, &[])
}

fn worker_with(data: &Path, key: &Path, extra: &[&str]) -> Worker {
    let child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["worker", "--data-dir"])
        .arg(data)
        .args(extra)
        .arg("--vault-key-file")
        .arg(key)
        .args([
            "--allow-endpoint-override",
            "--no-scheduler",
            "--job-lease-seconds",
            "3",
            "--job-heartbeat-seconds",
            "1",
            "--job-poll-ms",
            "100",
            "--job-backoff-seconds",
            "1",
        ])
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("RAMPART_VAULT_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .on_backend()
        .spawn()
        .unwrap();
    Worker(child)
}

/// A plain-HTTP GET on loopback, body as text (retried while the listener starts).
fn get_plain(addr: &str, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            return out;
        }
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn wait_for(
    store: &Store,
    scope: &WorkspaceScope,
    id: &str,
    what: &str,
    done: impl Fn(&Job) -> bool,
) -> Job {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let job = store.job(scope, id).await.unwrap().unwrap();
        if done(&job) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn enqueue_scan(s: &Setup) -> Job {
    let connector = s.store.list_connectors(&s.scope).await.unwrap().remove(0);
    s.store
        .enqueue_job(&s.scope, NewJob::scan(&connector.id), ev("job.enqueue"))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_worker_killed_mid_scan_loses_the_job_to_another_that_completes_it_once() {
    let s = setup().await;
    let job = enqueue_scan(&s).await;

    // The first worker claims the scan and starts collecting: its calls are held at the gate.
    let mut first = worker(&s.data, &s.key);
    wait_for(&s.store, &s.scope, &job.id, "the first claim", |j| {
        j.state == JobState::Running
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.gate.seen.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the worker never called AWS");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // SIGKILL: no clean-up, no last write.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let held = s.store.job(&s.scope, &job.id).await.unwrap().unwrap();
    assert_eq!(
        held.state,
        JobState::Running,
        "still leased to the dead worker"
    );

    s.gate.open.store(true, Ordering::SeqCst);
    let _second = worker(&s.data, &s.key);
    let done = wait_for(&s.store, &s.scope, &job.id, "the reclaimed scan", |j| {
        j.state.is_terminal()
    })
    .await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    assert_eq!(done.attempts, 2, "claimed twice: {done:?}");
    assert!(
        done.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("stopped renewing its lease"),
        "{done:?}"
    );
    let result = done.result.unwrap();
    assert!(result["assets"].as_u64().unwrap() > 10, "{result}");

    // One scan, and each finding once.
    let data = s.store.scoped(&s.scope);
    let scans = data.list_scans(Page::default()).await.unwrap();
    assert_eq!(scans.total, 1);
    let scan = &scans.items[0];
    assert_eq!(result["scan"], scan.id.as_str());
    let findings = data
        .list_findings(&FindingFilter::default(), Page::new(500, 0))
        .await
        .unwrap();
    assert!(findings.total < 500, "one page holds them all");
    let mut pairs: Vec<_> = findings
        .items
        .iter()
        .map(|f| (f.finding.control_id.clone(), f.finding.asset_id.clone()))
        .collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(
        pairs.len() as u64,
        findings.total,
        "a control × asset pair twice"
    );
    assert!(findings.items.iter().all(|f| f.last_scan_id == scan.id));
    let failing = findings
        .items
        .iter()
        .filter(|f| f.finding.status == rampart_model::FindingStatus::Fail)
        .count() as u64;
    assert_eq!(
        failing, scan.fail_count,
        "failing findings of exactly one evaluation"
    );
}

#[tokio::test]
async fn a_running_scan_is_cancelled_at_the_next_heartbeat_and_the_worker_carries_on() {
    let s = setup().await;
    let job = enqueue_scan(&s).await;
    let _w = worker(&s.data, &s.key);
    wait_for(&s.store, &s.scope, &job.id, "the claim", |j| {
        j.state == JobState::Running && j.progress.is_some()
    })
    .await;
    let asked = s
        .store
        .cancel_job(&s.scope, &job.id, ev("job.cancel"))
        .await
        .unwrap();
    assert!(asked.cancel_requested);
    let cancelled = wait_for(&s.store, &s.scope, &job.id, "the cancellation", |j| {
        j.state.is_terminal()
    })
    .await;
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert_eq!(
        s.store
            .scoped(&s.scope)
            .list_scans(Page::default())
            .await
            .unwrap()
            .total,
        0,
        "nothing recorded by the cancelled scan"
    );

    // The same worker runs the next job to the end once AWS answers.
    s.gate.open.store(true, Ordering::SeqCst);
    let next = enqueue_scan(&s).await;
    let done = wait_for(&s.store, &s.scope, &next.id, "the next scan", |j| {
        j.state.is_terminal()
    })
    .await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    assert_eq!(done.attempts, 1);
}

/// `rampart import --queue` queues one job per file; a `rampart worker` imports, evaluates and
/// records each; a missing file is refused before anything is queued.
#[tokio::test]
async fn queued_imports_are_run_by_a_worker() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = dir.path().join("vault.key");
    std::fs::write(&key, format!("{}\n", Vault::generate_key_line("k1"))).unwrap();
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../content/samples/demo.jsonl");
    let rampart = || Command::new(env!("CARGO_BIN_EXE_rampart"));
    let out = rampart()
        .args(["import", "--queue", "--create", "-w", "acme", "--data-dir"])
        .arg(&data)
        .arg(dir.path().join("missing.jsonl"))
        .on_backend()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.jsonl: cannot read the file"));
    let out = rampart()
        .args(["import", "--queue", "--create", "-w", "acme", "--data-dir"])
        .arg(&data)
        .arg(&sample)
        .on_backend()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job_id = String::from_utf8_lossy(&out.stdout)
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    assert!(job_id.starts_with("job_"), "{job_id}");
    let store = common::open_store(&data).await;
    let scope = store.operator_scope("acme").await.unwrap().unwrap();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let _w = worker_with(&data, &key, &["--metrics-listen", &metrics_addr]);
    let done = wait_for(&store, &scope, &job_id, "the import", |j| {
        j.state.is_terminal()
    })
    .await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    // The worker process's own metrics count the attempt and its duration (issue 10.1).
    let metrics = get_plain(&metrics_addr, "/metrics");
    assert!(
        metrics.contains(r#"rampart_job_attempts_total{kind="import",outcome="succeeded"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"rampart_job_duration_seconds_count{kind="import"} 1"#),
        "{metrics}"
    );
    let scans = store
        .scoped(&scope)
        .list_scans(Page::default())
        .await
        .unwrap();
    assert_eq!(scans.total, 1);
    assert!(
        scans.items[0].source.starts_with("import: "),
        "{:?}",
        scans.items[0]
    );
    assert!(scans.items[0].asset_count > 10);
}

/// Issue 3: "a second scan that marks a deleted resource as gone while keeping one whose listing
/// failed". moto enforces IAM policies after the seed; the first scan runs as `scanner` (may
/// list everything), the second as `auditor` (may not list volumes). Between them a queue and
/// the volume are deleted: the queue is gone, the volume (unlisted) is kept.
#[tokio::test]
async fn a_second_scan_marks_a_deleted_resource_gone_and_keeps_one_whose_listing_failed() {
    let (moto, ids) = start_moto_seeded(
        &[("INITIAL_NO_AUTH_ACTION_COUNT", "40")],
        "../aws/tests/seed_gone.py",
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = dir.path().join("vault.key");
    std::fs::write(&key, format!("{}\n", Vault::generate_key_line("k1"))).unwrap();
    let vault = Vault::from_file(&key).unwrap();
    let store = common::open_store(&data).await;
    store.create_workspace("acme", "Acme").await.unwrap();
    let scope = store.operator_scope("acme").await.unwrap().unwrap();
    let mut connectors = Vec::new();
    for user in ["scanner", "auditor"] {
        let secret = serde_json::json!({
            "access_key_id": ids[user]["accessKeyId"],
            "secret_access_key": ids[user]["secretAccessKey"],
        });
        let c = store
            .create_connector(
                &scope,
                user,
                "aws",
                &serde_json::json!({ "regions": ["us-east-1"], "endpoint_url": moto.url }),
                secret.to_string().as_bytes(),
                &vault,
                ev("connector.create"),
            )
            .await
            .unwrap();
        connectors.push(c);
    }
    let _w = worker(&data, &key);
    let scan = |connector: String| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            let job = store
                .enqueue_job(&scope, NewJob::scan(&connector), ev("job.enqueue"))
                .await
                .unwrap();
            let done = wait_for(&store, &scope, &job.id, "the scan", |j| {
                j.state.is_terminal()
            })
            .await;
            assert_eq!(done.state, JobState::Succeeded, "{done:?}");
            done.result.unwrap()
        }
    };
    let data_ws = store.scoped(&scope);
    let native_ids = |gone: bool| {
        let data_ws = &data_ws;
        async move {
            let filter = AssetFilter {
                gone,
                ..AssetFilter::default()
            };
            let mut out = Vec::new();
            let mut offset = 0;
            loop {
                let page = data_ws
                    .list_assets(&filter, Page::new(500, offset))
                    .await
                    .unwrap();
                let n = page.items.len() as u64;
                out.extend(page.items.into_iter().map(|a| a.native_id));
                offset += n;
                if n == 0 || offset >= page.total {
                    break;
                }
            }
            out
        }
    };
    let volume_arn = format!(
        "arn:aws:ec2:us-east-1:123456789012:volume/{}",
        ids["volume"].as_str().unwrap()
    );
    let doomed = ids["doomed-queue"]["arn"].as_str().unwrap().to_owned();
    let kept = ids["kept-queue"]["arn"].as_str().unwrap().to_owned();

    let first = scan(connectors[0].id.clone()).await;
    assert_eq!(first["gone"], 0, "{first}");
    let present = native_ids(false).await;
    for arn in [&volume_arn, &doomed, &kept] {
        assert!(present.contains(arn), "{arn} not collected: {present:?}");
    }

    // Delete the queue and the volume in "AWS".
    let out = Command::new(env_path("RAMPART_MOTO_PYTHON"))
        .args([
            "-c",
            "import boto3, os, sys\n\
kw = dict(region_name='us-east-1', endpoint_url=os.environ['AWS_ENDPOINT_URL'],\n\
          aws_access_key_id=sys.argv[1], aws_secret_access_key=sys.argv[2])\n\
boto3.client('sqs', **kw).delete_queue(QueueUrl=sys.argv[3])\n\
boto3.client('ec2', **kw).delete_volume(VolumeId=sys.argv[4])\n",
            ids["scanner"]["accessKeyId"].as_str().unwrap(),
            ids["scanner"]["secretAccessKey"].as_str().unwrap(),
            ids["doomed-queue"]["url"].as_str().unwrap(),
            ids["volume"].as_str().unwrap(),
        ])
        .env("AWS_ENDPOINT_URL", &moto.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let second = scan(connectors[1].id.clone()).await;
    let errors = second["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["service"] == "ec2"
            && e["operation"] == "DescribeVolumes"
            && e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("AccessDenied")),
        "the volume listing was refused: {second}"
    );
    assert_eq!(second["gone"], 1, "only the deleted queue: {second}");
    assert_eq!(native_ids(true).await, vec![doomed.clone()]);
    let present = native_ids(false).await;
    assert!(present.contains(&kept), "{present:?}");
    assert!(
        present.contains(&volume_arn),
        "the volume's listing failed: it is kept, not gone"
    );
    assert!(!present.contains(&doomed));
    let scans = data_ws.list_scans(Page::default()).await.unwrap();
    assert_eq!(scans.items[0].gone_count, 1);
}

/// Issue 8 "Connectors: … test the connection": a check job signs in through STS and records
/// who the credentials are, scanning nothing; an unreachable endpoint fails the job once (no
/// retries) with the reason.
#[tokio::test]
async fn a_connection_check_names_the_identity_and_scans_nothing() {
    let s = setup().await;
    s.gate.open.store(true, Ordering::SeqCst);
    let connector = s.store.list_connectors(&s.scope).await.unwrap().remove(0);
    let job = s
        .store
        .enqueue_job(&s.scope, NewJob::check(&connector.id), ev("job.enqueue"))
        .await
        .unwrap();
    let _w = worker(&s.data, &s.key);
    let done = wait_for(&s.store, &s.scope, &job.id, "the check", |j| {
        j.state.is_terminal()
    })
    .await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    let result = done.result.unwrap();
    assert_eq!(result["connected"], true, "{result}");
    assert_eq!(result["identity"]["account"], "123456789012", "{result}");
    assert!(
        result["identity"]["principal"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:"),
        "{result}"
    );
    let scans = s
        .store
        .scoped(&s.scope)
        .list_scans(Page::default())
        .await
        .unwrap();
    assert_eq!(scans.total, 0, "a check records no scan");

    // A connector whose endpoint refuses connections: failed at once, with the reason.
    let vault = Vault::from_file(&s.key).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = s
        .store
        .create_connector(
            &s.scope,
            "unreachable",
            "aws",
            &serde_json::json!({ "regions": ["us-east-1"], "endpoint_url": format!("http://127.0.0.1:{closed}") }),
            br#"{"access_key_id": "testing", "secret_access_key": "testing"}"#,
            &vault,
            ev("connector.create"),
        )
        .await
        .unwrap();
    let job = s
        .store
        .enqueue_job(&s.scope, NewJob::check(&dead.id), ev("job.enqueue"))
        .await
        .unwrap();
    let done = wait_for(&s.store, &s.scope, &job.id, "the failing check", |j| {
        j.state.is_terminal()
    })
    .await;
    assert_eq!(done.state, JobState::Failed, "{done:?}");
    assert_eq!(done.attempts, 1, "no retry");
    assert!(
        done.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("GetCallerIdentity"),
        "{done:?}"
    );
}

/// Issue 7.3: scheduled backups are jobs of the installation's backup queue. Two worker
/// processes given the same backup directory both schedule the current slot; it becomes one job,
/// one of them takes the backup (recorded on the job, audited), and `rampart restore` accepts it.
/// File backups of `rampart.db`: on SQLite under either test backend (PostgreSQL's `pg_dump`
/// backups: `tests/postgres.rs`; one job per slot on PostgreSQL: the store's `backup_jobs` tests).
#[tokio::test]
async fn worker_processes_with_a_backup_dir_take_the_scheduled_backup_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("backups");
    let key = dir.path().join("vault.key");
    std::fs::write(&key, format!("{}\n", Vault::generate_key_line("k1"))).unwrap();
    let store = Store::open_data_dir(&data).await.unwrap();
    store.create_workspace("acme", "Acme").await.unwrap();
    let before = store.workspace_fingerprints().await.unwrap();
    let spawn = || {
        Worker(
            Command::new(env!("CARGO_BIN_EXE_rampart"))
                .args(["worker", "--data-dir"])
                .arg(&data)
                .arg("--vault-key-file")
                .arg(&key)
                .arg("--backup-dir")
                .arg(&out)
                .args([
                    "--backup-interval-hours",
                    "24",
                    "--backup-retain",
                    "3",
                    "--job-poll-ms",
                    "100",
                ])
                .env_remove("RAMPART_VAULT_KEY")
                .env_remove("RAMPART_BACKUP_DATABASE_URL")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .on_sqlite()
                .spawn()
                .unwrap(),
        )
    };
    let (_a, _b) = (spawn(), spawn());
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let jobs = store.backup_jobs(10).await.unwrap();
        if let Some(j) = jobs.iter().find(|j| j.state.is_terminal()) {
            break j.clone();
        }
        assert!(Instant::now() < deadline, "no backup taken: {jobs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    // Both processes keep looking; the slot stays one job and one backup.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let jobs = store.backup_jobs(10).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let result = job.result.clone().unwrap();
    let files = rampart_store::backup::list_backups(&out).unwrap();
    assert_eq!(files, vec![out.join(&result.file_name)]);
    drop((_a, _b));

    let target = dir.path().join("restored");
    let o = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["restore", "--from"])
        .arg(&files[0])
        .arg("--data-dir")
        .arg(&target)
        .arg("--key-file")
        .arg(&key)
        .env_remove("RAMPART_VAULT_KEY")
        .on_sqlite()
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let restored = Store::open_data_dir(&target).await.unwrap();
    assert_eq!(restored.workspace_fingerprints().await.unwrap(), before);
}
