//! Load and soak test of a running Rampart (issue 10, point 7), run by `scripts/test load`.
//!
//! Starts `rampart demo` on a free loopback port in a temporary directory, imports a generated
//! inventory into its workspace (`--assets`, default 5,000 S3 buckets; the test run uses 2,000),
//! signs in through the CSRF-protected form, then runs `--clients` concurrent clients (default
//! 200, each with its own TLS connection) for `--seconds` (default 120) against the dashboard,
//! the inventory and the findings, as pages and through the API. It samples the server's
//! resident memory every second from /proc.
//!
//! It prints requests, errors, throughput and latency percentiles per endpoint, and memory at
//! the end of the warm-up (the first sixth of the run), at the end and at its peak. Exit status
//! 1 when any request failed (transport error or a status other than 200) or when resident
//! memory grew by 10% or more after the warm-up; 2 on a set-up failure.
//!
//! `--bulk N` adds N synthetic assets (six resource types over 200 accounts and four regions,
//! each with findings of three real built-in controls of its type) straight into the demo's
//! SQLite database with a few `INSERT … SELECT` statements, as one more scan: how the pages
//! behave on a very large workspace (1,000,000 assets in docs/benchmarks.md) without waiting for
//! that many assets to go through import. The "first ms" column is each endpoint's first
//! request, before any memo of the workspace's aggregates exists.
//!
//!     cargo build -p rampart-cli --bin rampart
//!     cargo run -p rampart-server --example load -- --binary target/debug/rampart

use std::collections::BTreeMap;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// Growth of resident memory after the warm-up that fails the run, in percent.
const MAX_RSS_GROWTH_PERCENT: f64 = 10.0;

struct Options {
    binary: PathBuf,
    clients: usize,
    seconds: u64,
    assets: usize,
    bulk: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: load --binary PATH [--clients N (200)] [--seconds N (120)] [--assets N (5000)] [--bulk N (0)]"
    );
    std::process::exit(2)
}

fn options() -> Options {
    let mut o = Options {
        binary: PathBuf::new(),
        clients: 200,
        seconds: 120,
        assets: 5000,
        bulk: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--binary" => o.binary = PathBuf::from(value()),
            "--clients" => o.clients = value().parse().unwrap_or_else(|_| usage()),
            "--seconds" => o.seconds = value().parse().unwrap_or_else(|_| usage()),
            "--assets" => o.assets = value().parse().unwrap_or_else(|_| usage()),
            "--bulk" => o.bulk = value().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if o.binary.as_os_str().is_empty() || o.clients == 0 || o.seconds < 12 {
        usage();
    }
    o
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("load: {msg}");
    std::process::exit(2)
}

/// `rampart demo`, killed when dropped.
struct Demo {
    child: Child,
    port: u16,
    password: String,
    cert: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| fail(format!("no free port: {e}")))
}

fn start_demo(binary: &Path, dir: &Path) -> Demo {
    let port = free_port();
    let data = dir.join("data");
    let mut cmd = Command::new(binary);
    cmd.args(["demo", "--workers", "0", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("RAMPART_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| fail(format!("cannot start {}: {e}", binary.display())));
    let stdout = child.stdout.take().unwrap_or_else(|| fail("no stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(p) = line.trim().strip_prefix("Password:") {
                let _ = tx.send(p.split_whitespace().next().unwrap_or_default().to_owned());
            }
        }
    });
    let password = rx
        .recv_timeout(Duration::from_secs(180))
        .unwrap_or_else(|_| fail("rampart demo printed no password within 180 s"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            fail("rampart demo does not listen");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Demo {
        child,
        port,
        password,
        cert: data.join("tls").join("self-signed-cert.pem"),
    }
}

/// A snapshot of `n` S3 buckets with four configurations in turn (so that controls pass and
/// fail), imported into the demo workspace.
fn import_inventory(binary: &Path, dir: &Path, n: usize) {
    let path = dir.join("load-inventory.jsonl");
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display()))),
    );
    let _ = writeln!(
        f,
        r#"{{"rampart_snapshot": 1, "generated_at": "2026-11-30T00:00:00Z", "source": "load test"}}"#
    );
    for i in 0..n {
        let block = i % 2 == 0;
        let encrypted = i % 4 < 2;
        let region = ["eu-west-1", "us-east-1", "ap-south-1"][i % 3];
        let line = serde_json::json!({
            "kind": "asset", "provider": "aws", "account": format!("1111222{:05}", i % 7),
            "region": region,
            "type": "aws.s3.bucket", "native_id": format!("arn:aws:s3:::load-bucket-{i:06}"),
            "name": format!("load-bucket-{i:06}"), "tags": {"env": if i % 5 == 0 { "prod" } else { "dev" }},
            "config": {
                "name": format!("load-bucket-{i:06}"),
                "publicAccessBlock": {"blockPublicAcls": block, "ignorePublicAcls": block, "blockPublicPolicy": block, "restrictPublicBuckets": block},
                "versioning": {"status": if i % 3 == 0 { "Enabled" } else { "Suspended" }, "mfaDeleteEnabled": false},
                "encryption": if encrypted { serde_json::json!({"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}) } else { serde_json::Value::Null },
                "logging": {"enabled": i % 6 == 0}
            }
        });
        let _ = writeln!(f, "{line}");
    }
    drop(f);
    let out = Command::new(binary)
        .args(["import", "--workspace", "demo", "--data-dir"])
        .arg(dir.join("data"))
        .arg(&path)
        .output()
        .unwrap_or_else(|e| fail(format!("cannot run rampart import: {e}")));
    if !out.status.success() {
        fail(format!(
            "rampart import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    eprintln!("load: {}", String::from_utf8_lossy(&out.stdout).trim());
}

/// Resource types of the bulk assets, in turn.
const BULK_TYPES: [&str; 6] = [
    "aws.s3.bucket",
    "aws.ec2.instance",
    "aws.ec2.security_group",
    "aws.iam.role",
    "gcp.compute.instance",
    "azure.compute.virtual_machine",
];

/// Adds `n` synthetic assets with findings to the demo workspace's database as one scan.
async fn bulk_insert(dir: &Path, n: usize) {
    use sqlx::Connection as _;
    let started = Instant::now();
    let path = dir.join("data").join(rampart_store::SQLITE_FILE_NAME);
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .busy_timeout(Duration::from_secs(60));
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let catalog = rampart_rules::Catalog::builtin().unwrap_or_else(|e| fail(e));
    let ws: String = sqlx::query_scalar("SELECT id FROM workspaces WHERE slug = 'demo'")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| fail(e));
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let scan = "scn_bulk";
    let mut tx = conn.begin().await.unwrap_or_else(|e| fail(e));
    let statements = {
        let mut v = vec![format!(
            "INSERT INTO scans (workspace_id, id, source, status, started_at, finished_at, asset_count, pass_count, fail_count, error_count) \
             VALUES ('{ws}', '{scan}', 'bulk', 'succeeded', '{now}', '{now}', {n}, 0, 0, 0)"
        )];
        let types = BULK_TYPES
            .iter()
            .enumerate()
            .map(|(k, t)| format!("WHEN {k} THEN '{t}'"))
            .collect::<Vec<_>>()
            .join(" ");
        v.push(format!(
            "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < {last}) \
             INSERT INTO assets (workspace_id, id, provider, account, region, type, native_id, name, tags, config, first_seen, last_seen, last_scan_id, seq) \
             SELECT '{ws}', printf('ast_bulk%07d', i), \
               CASE i % 6 WHEN 4 THEN 'gcp' WHEN 5 THEN 'azure' ELSE 'aws' END, \
               printf('acct-%03d', i % 200), \
               CASE i % 4 WHEN 0 THEN 'eu-west-1' WHEN 1 THEN 'us-east-1' WHEN 2 THEN 'eu-central-1' ELSE 'ap-south-1' END, \
               CASE i % 6 {types} END, printf('bulk/%07d', i), printf('bulk-%07d', i), \
               '{{\"env\":\"' || CASE i % 3 WHEN 0 THEN 'prod' WHEN 1 THEN 'dev' ELSE 'test' END || '\",\"team\":\"t' || (i % 25) || '\"}}', \
               '{{\"name\":\"bulk-' || i || '\",\"versioning\":{{\"status\":\"' || CASE i % 50 WHEN 0 THEN 'Enabled' ELSE 'Suspended' END || '\"}}}}', \
               '{now}', '{now}', '{scan}', \
               (SELECT COALESCE(MAX(seq), 0) + 1 FROM assets WHERE workspace_id = '{ws}') + i FROM seq",
            last = n.saturating_sub(1)
        ));
        for (k, t) in BULK_TYPES.iter().enumerate() {
            let controls: Vec<_> = catalog
                .controls()
                .filter(|c| c.resource_types.iter().any(|r| r.as_str() == *t))
                .take(3)
                .collect();
            for (j, c) in controls.iter().enumerate() {
                let severity = c.severity.as_str();
                let rank = match severity {
                    "critical" => 5,
                    "high" => 4,
                    "medium" => 3,
                    "low" => 2,
                    _ => 1,
                };
                v.push(format!(
                    "INSERT INTO findings (workspace_id, id, control_id, asset_id, asset_seq, status, severity, severity_rank, reason, first_seen, last_seen, last_scan_id) \
                     SELECT workspace_id, 'fnd_' || substr(id, 5) || '_{j}', '{control}', id, seq, \
                       CASE WHEN (CAST(substr(id, 9) AS INTEGER) / 6 + {j}) % 3 = 0 THEN 'fail' ELSE 'pass' END, \
                       '{severity}', {rank}, 'synthetic', '{now}', '{now}', '{scan}' \
                     FROM assets WHERE workspace_id = '{ws}' AND last_scan_id = '{scan}' AND type = '{t}' AND CAST(substr(id, 9) AS INTEGER) % 6 = {k}",
                    control = c.id
                ));
            }
        }
        v.push(format!(
            "UPDATE scans SET pass_count = (SELECT COUNT(*) FROM findings WHERE workspace_id = '{ws}' AND last_scan_id = '{scan}' AND status = 'pass'), \
               fail_count = (SELECT COUNT(*) FROM findings WHERE workspace_id = '{ws}' AND last_scan_id = '{scan}' AND status = 'fail') \
             WHERE workspace_id = '{ws}' AND id = '{scan}'"
        ));
        v
    };
    for sql in statements {
        sqlx::query(&sql)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| fail(format!("bulk insert: {e}\n{sql}")));
    }
    tx.commit().await.unwrap_or_else(|e| fail(e));
    let (assets, findings): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM assets WHERE workspace_id = $1), (SELECT COUNT(*) FROM findings WHERE workspace_id = $1)",
    )
    .bind(&ws)
    .fetch_one(&mut conn)
    .await
    .unwrap_or_else(|e| fail(e));
    sqlx::query("ANALYZE")
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| fail(e));
    eprintln!(
        "load: bulk-inserted {n} assets in {:.1} s; the workspace now holds {assets} assets and {findings} findings",
        started.elapsed().as_secs_f64()
    );
}

fn client(cert: &Path) -> reqwest::Client {
    let pem = std::fs::read(cert).unwrap_or_else(|e| fail(format!("{}: {e}", cert.display())));
    let ca = reqwest::Certificate::from_pem(&pem).unwrap_or_else(|e| fail(e));
    reqwest::Client::builder()
        .add_root_certificate(ca)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(1)
        .build()
        .unwrap_or_else(|e| fail(e))
}

async fn sign_in(demo: &Demo) -> String {
    let base = format!("https://127.0.0.1:{}", demo.port);
    let c = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&demo.cert).unwrap_or_default())
                .unwrap_or_else(|e| fail(e)),
        )
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| fail(e));
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| fail(format!("GET /login: {e}")));
    let html = page.text().await.unwrap_or_default();
    let marker = "name=\"csrf_token\" value=\"";
    let token = html
        .split_once(marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(t, _)| t.to_owned())
        .unwrap_or_else(|| fail("no csrf_token on /login"));
    let resp = c
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[
            ("email", "admin@rampart.local"),
            ("password", demo.password.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap_or_else(|e| fail(format!("POST /login: {e}")));
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("__Host-rampart_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .unwrap_or_else(|| fail(format!("signing in gave no session ({})", resp.status())))
}

/// The endpoints the clients call in turn: (label, path).
const ENDPOINTS: &[(&str, &str)] = &[
    ("dashboard page", "/w/demo"),
    ("inventory page", "/w/demo/assets"),
    ("inventory page, offset", "/w/demo/assets?offset=2000"),
    (
        "inventory query",
        "/w/demo/assets?q=resource.config.versioning.status%20%3D%3D%20%22Enabled%22",
    ),
    ("findings page", "/w/demo/findings"),
    (
        "findings failing, offset",
        "/w/demo/findings?status=fail&offset=500",
    ),
    ("summary API", "/api/v1/workspaces/demo/summary"),
    (
        "assets API",
        "/api/v1/workspaces/demo/assets?limit=100&offset=2000",
    ),
    (
        "findings API",
        "/api/v1/workspaces/demo/findings?limit=100&offset=1000",
    ),
];

#[derive(Default)]
struct Tally {
    /// The endpoint's first request (cold: before any memo of the workspace's aggregates).
    first_us: Option<u64>,
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

fn mean(v: &[u64]) -> f64 {
    v.iter().sum::<u64>() as f64 / v.len().max(1) as f64
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let o = options();
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(e));
    // RAMPART_LOAD_KEEP=DIR: work in DIR and leave the data there (to look into afterwards).
    let kept = std::env::var_os("RAMPART_LOAD_KEEP").map(PathBuf::from);
    let dir_path = kept.clone().unwrap_or_else(|| dir.path().to_path_buf());
    let demo = start_demo(&o.binary, &dir_path);
    import_inventory(&o.binary, &dir_path, o.assets);
    if o.bulk > 0 {
        bulk_insert(&dir_path, o.bulk).await;
    }
    let session = sign_in(&demo).await;
    let base = format!("https://127.0.0.1:{}", demo.port);
    let pid = demo.child.id();
    eprintln!(
        "load: {} clients for {} s against {base} (server pid {pid})",
        o.clients, o.seconds
    );

    let stop = Arc::new(AtomicBool::new(false));
    let tallies: Arc<Vec<Mutex<Tally>>> = Arc::new(
        ENDPOINTS
            .iter()
            .map(|_| Mutex::new(Tally::default()))
            .collect(),
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..o.clients {
        let c = client(&demo.cert);
        let stop = stop.clone();
        let tallies = tallies.clone();
        let base = base.clone();
        let cookie = format!("__Host-rampart_session={session}");
        tasks.push(tokio::spawn(async move {
            let mut i = n;
            while !stop.load(Ordering::Relaxed) {
                let k = i % ENDPOINTS.len();
                i += 1;
                let t = Instant::now();
                let outcome = c
                    .get(format!("{base}{}", ENDPOINTS[k].1))
                    .header("cookie", &cookie)
                    .send()
                    .await;
                let outcome = match outcome {
                    Ok(r) if r.status() == 200 => {
                        r.bytes().await.map(|_| ()).map_err(|e| e.to_string())
                    }
                    Ok(r) => Err(format!("status {}", r.status())),
                    Err(e) => Err(e.to_string()),
                };
                let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                let mut tally = tallies[k].lock().await;
                match outcome {
                    Ok(()) => {
                        tally.first_us.get_or_insert(us);
                        tally.latencies_us.push(us);
                    }
                    Err(e) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(e);
                    }
                }
            }
        }));
    }

    // Memory, once a second.
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let total = Duration::from_secs(o.seconds);
    while started.elapsed() < total {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some(kib) = rss_kib(pid) {
            samples.push((started.elapsed().as_secs_f64(), kib));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();

    let warmup = o.seconds as f64 / 6.0;
    let after: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= warmup)
        .map(|(_, k)| *k)
        .collect();
    let window = (after.len() / 10).max(3).min(after.len().max(1));
    let baseline = mean(&after[..window.min(after.len())]);
    let end = mean(&after[after.len().saturating_sub(window)..]);
    let peak = samples.iter().map(|(_, k)| *k).max().unwrap_or(0);
    let growth = if baseline > 0.0 {
        (end - baseline) / baseline * 100.0
    } else {
        f64::INFINITY
    };

    let mut all = Vec::new();
    let mut errors = 0;
    let mut by_endpoint = BTreeMap::new();
    println!(
        "{:<24} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "endpoint", "requests", "errors", "first ms", "p50 ms", "p95 ms", "p99 ms"
    );
    for (k, (label, path)) in ENDPOINTS.iter().enumerate() {
        let mut t = tallies[k].lock().await;
        t.latencies_us.sort_unstable();
        println!(
            "{:<24} {:>9} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            label,
            t.latencies_us.len() as u64 + t.errors,
            t.errors,
            t.first_us.unwrap_or(0) as f64 / 1000.0,
            percentile(&t.latencies_us, 0.5),
            percentile(&t.latencies_us, 0.95),
            percentile(&t.latencies_us, 0.99)
        );
        if let Some(e) = &t.first_error {
            println!("    first error on {path}: {e}");
        }
        errors += t.errors;
        all.extend_from_slice(&t.latencies_us);
        by_endpoint.insert(*label, t.latencies_us.len());
    }
    all.sort_unstable();
    let requests = all.len() as u64 + errors;
    println!(
        "total: {requests} requests in {elapsed:.1} s ({:.0} req/s), {errors} errors; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        requests as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.95),
        percentile(&all, 0.99)
    );
    println!(
        "server RSS: {:.1} MiB after the {warmup:.0} s warm-up, {:.1} MiB at the end, peak {:.1} MiB: growth {growth:+.1}% (limit {MAX_RSS_GROWTH_PERCENT}%)",
        baseline / 1024.0,
        end / 1024.0,
        peak as f64 / 1024.0
    );
    drop(demo);
    if errors > 0 {
        eprintln!("load: FAILED: {errors} request(s) failed");
        return ExitCode::from(1);
    }
    if growth.is_nan() || growth >= MAX_RSS_GROWTH_PERCENT {
        eprintln!("load: FAILED: resident memory grew {growth:+.1}% after the warm-up");
        return ExitCode::from(1);
    }
    if by_endpoint.values().any(|n| *n == 0) {
        eprintln!("load: FAILED: an endpoint got no successful request");
        return ExitCode::from(1);
    }
    eprintln!("load: passed");
    ExitCode::SUCCESS
}
