//! Import and evaluation through the job queue (issue 7.6): N synthetic assets in F snapshot
//! files (one account each), one import job per file, run by W workers of this process, on the
//! backend `RAMPART_TEST_BACKEND` names (sqlite, the default, or postgres: a throw-away server
//! reached as the application role under row-level security). Prints the wall time, assets per
//! second and this process's peak RSS, next to the time `jq -c .` takes to read and write the
//! same files once.
//!
//! ```sh
//! RAMPART_BENCH_ASSETS=1000000 RAMPART_BENCH_FILES=10 RAMPART_BENCH_WORKERS=2 \
//!     cargo bench -p rampart-worker --bench queue
//! ```
//!
//! `RAMPART_BENCH_KEEP=1` keeps the files and the SQLite data directory afterwards (the path
//! is printed) for inspecting the database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../store/tests/common/pg.rs"]
mod pg;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_rules::Catalog;
use rampart_store::audit::{AuditEvent, Outcome};
use rampart_store::{JobKind, JobState, NewJob, Page, Store};
use rampart_worker::{ImportExecutor, Worker, WorkerConfig};
use serde_json::json;

/// The allocator `rampart` itself uses (crates/cli/src/main.rs), so the peak RSS is what a
/// `rampart worker --concurrency W` process would reach.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of this process so far, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Writes `files` snapshots of `per_file` assets each, built from the controls' fixtures.
fn generate(dir: &Path, catalog: &Catalog, files: usize, per_file: usize) -> Vec<PathBuf> {
    let templates: Vec<_> = catalog
        .compiled_controls()
        .iter()
        .flat_map(|c| c.fixtures_pass.iter().chain(c.fixtures_fail.iter()))
        .map(|inv| inv.assets[0].clone())
        .collect();
    let mut out = Vec::new();
    for f in 0..files {
        let path = dir.join(format!("account-{f:03}.jsonl"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(w, "{}", json!({"rampart_snapshot": 1, "source": "bench"})).unwrap();
        for i in 0..per_file {
            let t = &templates[(f * per_file + i) % templates.len()];
            let line = json!({
                "kind": "asset",
                "provider": t.provider.as_str(),
                "account": format!("{:012}", 100_000_000_000u64 + f as u64),
                "region": t.region,
                "type": t.resource_type.as_str(),
                "native_id": format!("{}-{f}-{i}", t.native_id),
                "name": format!("{}-{i}", t.name),
                "tags": t.tags,
                "config": t.config,
            });
            serde_json::to_writer(&mut w, &line).unwrap();
            w.write_all(b"\n").unwrap();
        }
        w.flush().unwrap();
        out.push(path);
    }
    out
}

fn jq_seconds(files: &[PathBuf]) -> f64 {
    let started = Instant::now();
    for f in files {
        let status = Command::new("jq")
            .arg("-c")
            .arg(".")
            .arg(f)
            .stdout(Stdio::null())
            .status()
            .expect("jq is needed for the baseline: apt-get install jq");
        assert!(status.success());
    }
    started.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`: nothing to list
    }
    let assets = env_usize("RAMPART_BENCH_ASSETS", 1_000_000);
    let files = env_usize("RAMPART_BENCH_FILES", 10).max(1);
    let workers = env_usize("RAMPART_BENCH_WORKERS", 1).max(1);
    let per_file = assets / files;
    let catalog = Arc::new(Catalog::builtin().expect("built-in content"));
    let dir = tempfile::tempdir().unwrap();
    let keep = std::env::var_os("RAMPART_BENCH_KEEP").is_some();
    let paths = generate(dir.path(), &catalog, files, per_file);
    let bytes: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    let jq = jq_seconds(&paths);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (store, _pg, backend) = match pg::backend() {
            pg::Backend::Postgres => {
                let server = pg::PgServer::start().await;
                let store = Store::open_url(&server.app_url()).await.unwrap();
                (store, Some(server), "postgres")
            }
            pg::Backend::Sqlite => (
                Store::open_data_dir(&dir.path().join("data"))
                    .await
                    .unwrap(),
                None,
                "sqlite",
            ),
        };
        store.create_workspace("bench", "Bench").await.unwrap();
        let scope = store.operator_scope("bench").await.unwrap().unwrap();
        let rss_before = peak_rss_mib();
        let started = Instant::now();
        for p in &paths {
            store
                .enqueue_job(
                    &scope,
                    NewJob::import(&[p.display().to_string()]),
                    AuditEvent::new("job.enqueue", Outcome::Success),
                )
                .await
                .unwrap();
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let w = Worker::new(
                store.clone(),
                WorkerConfig {
                    lease: Duration::from_secs(120),
                    heartbeat: Duration::from_secs(5),
                    poll: Duration::from_millis(50),
                    backoff_base: Duration::from_secs(1),
                    backoff_max: Duration::from_secs(5),
                    scheduler: false,
                },
            )
            .with_executor(
                JobKind::Import,
                Arc::new(ImportExecutor {
                    catalog: catalog.clone(),
                }),
            );
            let rx = stopped.clone();
            tasks.push(tokio::spawn(async move { w.run(rx).await }));
        }
        loop {
            let open = store
                .list_jobs(&scope, Some(JobState::Queued), Page::new(1, 0))
                .await
                .unwrap()
                .total
                + store
                    .list_jobs(&scope, Some(JobState::Running), Page::new(1, 0))
                    .await
                    .unwrap()
                    .total;
            if open == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let wall = started.elapsed().as_secs_f64();
        stop.send(true).unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let done = store
            .list_jobs(&scope, Some(JobState::Succeeded), Page::new(1, 0))
            .await
            .unwrap()
            .total;
        assert_eq!(done as usize, files, "every import job succeeded");
        // Where the workers spent their time, summed over the jobs (from each job's result).
        let jobs = store
            .list_jobs(
                &scope,
                Some(JobState::Succeeded),
                Page::new(files as u32, 0),
            )
            .await
            .unwrap()
            .items;
        let sum = |field: &str| -> f64 {
            jobs.iter()
                .filter_map(|j| j.result.as_ref()?.pointer(field)?.as_f64())
                .sum()
        };
        let steps = format!(
            "{:.0} findings; job steps summed: load {:.1} s, evaluate {:.1} s, record {:.1} s",
            sum("/findings"),
            sum("/seconds/load"),
            sum("/seconds/evaluate"),
            sum("/seconds/record"),
        );
        let stored = store
            .scoped(&scope)
            .list_assets(&Default::default(), Page::new(1, 0))
            .await
            .unwrap()
            .total;
        assert_eq!(stored as usize, per_file * files);
        println!(
            "queue: backend {backend}, {} assets in {files} files ({:.0} MB), {workers} worker(s): \
             {wall:.1} s ({:.0} assets/s); jq -c . on the same files {jq:.1} s (ratio {:.1}x); \
             peak RSS {:.0} MiB (before the workers {rss_before:.0} MiB); {steps}{}",
            per_file * files,
            bytes as f64 / 1e6,
            (per_file * files) as f64 / wall,
            wall / jq,
            peak_rss_mib(),
            match backend {
                "sqlite" => format!(
                    "; database {:.0} MB",
                    dir_bytes(&dir.path().join("data")) as f64 / 1e6
                ),
                _ => String::new(),
            },
        );
    });
    if keep {
        println!("kept: {}", dir.keep().display());
    }
}

/// The bytes of the files in `dir` and below.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}
