//! `rampart import`, `rampart serve` and `rampart demo`: the commands that use the store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use clap::Args;
use rampart_server::ServerConfig;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Data directory holding the store (created if missing).
    #[arg(
        long,
        env = "RAMPART_DATA_DIR",
        default_value = "rampart-data",
        value_name = "DIR"
    )]
    data_dir: PathBuf,
    #[command(flatten)]
    database: crate::database::DatabaseArgs,
    /// Workspace slug to import into.
    #[arg(long, short = 'w', value_name = "SLUG")]
    workspace: String,
    /// Create the workspace if it does not exist.
    #[arg(long)]
    create: bool,
    /// Directory (or file) of additional control YAML files; repeatable.
    #[arg(long = "controls", value_name = "DIR")]
    controls: Vec<PathBuf>,
    /// Queue one import job per file for `rampart worker` processes on this machine instead of
    /// importing here (each file is checked to exist; workers read, evaluate and record it).
    #[arg(long)]
    queue: bool,
    /// Inventory files: Rampart snapshots (.jsonl) or AWS Config snapshots (.json, .json.gz).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Data directory: database, generated TLS certificate.
    #[arg(
        long,
        env = "RAMPART_DATA_DIR",
        default_value = "rampart-data",
        value_name = "DIR"
    )]
    data_dir: PathBuf,
    #[command(flatten)]
    database: crate::database::DatabaseArgs,
    /// Address and port of the HTTPS listener.
    #[arg(
        long,
        env = "RAMPART_LISTEN",
        default_value = "127.0.0.1:8443",
        value_name = "ADDR:PORT"
    )]
    listen: SocketAddr,
    /// PEM certificate chain; without it a self-signed certificate is generated in the data directory.
    #[arg(
        long,
        env = "RAMPART_TLS_CERT",
        requires = "tls_key",
        value_name = "FILE"
    )]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(
        long,
        env = "RAMPART_TLS_KEY",
        requires = "tls_cert",
        value_name = "FILE"
    )]
    tls_key: Option<PathBuf>,
    /// Directory (or file) of additional control YAML files; repeatable.
    #[arg(long = "controls", value_name = "DIR")]
    controls: Vec<PathBuf>,
    /// Vault key file sealing connector credentials and MFA secrets (lines `ID:BASE64KEY`, the
    /// first is current). Without it: the RAMPART_VAULT_KEY variable, else DATA_DIR/vault.key,
    /// generated on first start.
    #[arg(long, env = "RAMPART_VAULT_KEY_FILE", value_name = "FILE")]
    vault_key_file: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (plain HTTP: keep it on loopback or
    /// a private network). Off unless given.
    #[arg(long, env = "RAMPART_METRICS_LISTEN", value_name = "ADDR:PORT")]
    metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub(crate) backups: crate::worker_cmd::BackupScheduleArgs,
    /// Minutes of inactivity after which a session ends.
    #[arg(long, env = "RAMPART_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440))]
    session_idle_minutes: u32,
    /// Hours after sign-in at which a session ends, however active.
    #[arg(long, env = "RAMPART_SESSION_ABSOLUTE_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
    session_absolute_hours: u32,
    /// Job workers run inside this process (0: none, when separate `rampart worker`
    /// processes run the jobs).
    #[arg(long, env = "RAMPART_WORKERS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(0..=64))]
    workers: u16,
    #[command(flatten)]
    worker_options: crate::worker_cmd::WorkerOptions,
    #[command(flatten)]
    alerts: crate::alerts::AlertArgs,
    /// Ports besides the HTTPS port that may listen on non-loopback addresses of this host
    /// (for example 22 for SSH); the self-assessment flags any other. Comma-separated in the
    /// environment variable.
    #[arg(
        long = "allow-port",
        env = "RAMPART_ALLOW_PORTS",
        value_delimiter = ',',
        value_name = "PORT"
    )]
    allow_ports: Vec<u16>,

    /// The installation's public base URL, e.g. `https://rampart.example.com`: the links in
    /// invitation and password-reset mails start with it (never with a request's Host header).
    /// Default: `https://` and the listen address.
    #[arg(long, env = "RAMPART_PUBLIC_URL", value_name = "URL", value_parser = rampart_server::parse_public_url)]
    public_url: Option<String>,
    #[command(flatten)]
    telemetry: crate::telemetry::TelemetryArgs,
    /// Log format on standard error.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

#[derive(Args, Debug)]
pub struct SelfcheckArgs {
    /// The installation's configuration: the same options and environment variables as
    /// `rampart serve` (data directory, database, listener, TLS, vault key, metrics, backups).
    #[command(flatten)]
    serve: ServeArgs,
    /// Host name to present in the TLS handshake with the listener.
    #[arg(long, default_value = "localhost", value_name = "NAME")]
    server_name: String,
    /// Output format.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn import_scope(
    store: &rampart_store::Store,
    args: &ImportArgs,
) -> anyhow::Result<rampart_store::WorkspaceScope> {
    Ok(match store.operator_scope(&args.workspace).await? {
        Some(scope) => scope,
        None if args.create => {
            store
                .create_workspace(&args.workspace, &args.workspace)
                .await
                .with_context(|| format!("cannot create workspace {:?}", args.workspace))?;
            store
                .operator_scope(&args.workspace)
                .await?
                .ok_or_else(|| anyhow!("workspace {:?} vanished", args.workspace))?
        }
        None => bail!(
            "workspace {:?} does not exist (add --create to create it)",
            args.workspace
        ),
    })
}

/// `rampart import --queue`: one import job per file, for the workers.
fn import_queued(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for f in &args.files {
        let path = std::fs::canonicalize(f)
            .with_context(|| format!("{}: cannot read the file", f.display()))?;
        files.push(path.display().to_string());
    }
    runtime()?.block_on(async {
        let store = args.database.open(&args.data_dir).await?;
        let scope = import_scope(&store, &args).await?;
        for file in &files {
            let job = store
                .enqueue_job(
                    &scope,
                    rampart_store::NewJob::import(std::slice::from_ref(file)),
                    rampart_store::audit::AuditEvent::new(
                        "job.enqueue",
                        rampart_store::audit::Outcome::Success,
                    )
                    .actor(
                        rampart_store::audit::ActorKind::System,
                        "local-cli",
                        "",
                    ),
                )
                .await
                .with_context(|| format!("cannot queue the import of {file}"))?;
            println!("{}\t{file}", job.id);
        }
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    if args.queue {
        return import_queued(args);
    }
    let catalog = std::sync::Arc::new(crate::load_catalog(&args.controls)?);
    let now = Utc::now();
    // Every file is read and validated before the store is opened: a bad file changes nothing.
    let inventory = rampart_import::load_files(&args.files, now).map_err(|e| anyhow!("{e}"))?;
    let source = args
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    runtime()?.block_on(async {
        let store = args.database.open(&args.data_dir).await?;
        let scope = import_scope(&store, &args).await?;
        // With the workspace's custom controls, as a worker evaluates it.
        let catalog = rampart_worker::workspace_catalog(&store, &scope, catalog)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let evaluations = catalog.evaluate(&inventory, now);
        let scan = store
            .scoped(&scope)
            .record_scan_at(
                &source,
                &inventory,
                &evaluations,
                |id| catalog.control(id).map(|c| c.severity).unwrap_or_default(),
                now,
            )
            .await
            .context("cannot store the import (nothing was changed)")?;
        store.close().await;
        println!(
            "imported {} assets into workspace {}: {} pass, {} fail, {} error (scan {})",
            scan.asset_count,
            args.workspace,
            scan.pass_count,
            scan.fail_count,
            scan.error_count,
            scan.id
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn server_config(args: &ServeArgs) -> ServerConfig {
    ServerConfig {
        data_dir: args.data_dir.clone(),
        listen: args.listen,
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        vault_key_file: args.vault_key_file.clone(),
        metrics_listen: args.metrics_listen,
        backups: args.backups.schedule(),
        allowed_ports: args.allow_ports.clone(),
        public_url: args.public_url.clone(),
    }
}

/// `rampart selfcheck`: the running installation against the seed security policy. Exit status
/// 0 when every requirement passes, 1 when one fails.
pub fn selfcheck(args: SelfcheckArgs) -> anyhow::Result<ExitCode> {
    let config = server_config(&args.serve);
    let mut installation =
        rampart_server::selfcheck::Installation::from_config(&config, config.listen, None);
    installation.server_name = args.server_name.clone();
    runtime()?.block_on(async {
        // The key is only read (never generated): a missing key is a finding, not a default.
        let vault = installation.load_vault();
        let store = args.serve.database.open(&config.data_dir).await?;
        let report =
            rampart_server::selfcheck::run(&store, vault.as_ref(), &installation, Utc::now()).await;
        store.close().await;
        if args.format == "json" {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.to_text());
        }
        Ok(if report.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

fn session_timeouts(args: &ServeArgs) -> rampart_store::SessionTimeouts {
    rampart_store::SessionTimeouts {
        idle: chrono::TimeDelta::minutes(i64::from(args.session_idle_minutes)),
        absolute: chrono::TimeDelta::hours(i64::from(args.session_absolute_hours)),
    }
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let _telemetry = crate::telemetry::init(&args.log_format, &args.telemetry, "rampart")?;
    let catalog = Arc::new(crate::load_catalog(&args.controls)?);
    runtime()?.block_on(async {
        let store = args
            .database
            .open(&args.data_dir)
            .await?
            .with_session_timeouts(session_timeouts(&args));
        eprintln!("Rampart listening on https://{}", args.listen);
        serve_with_workers(&args, store, catalog).await?;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let args = args.serve;
    let _telemetry = crate::telemetry::init(&args.log_format, &args.telemetry, "rampart")?;
    let catalog = Arc::new(crate::load_catalog(&args.controls)?);
    let sample = rampart_rules::builtin::sample_inventory();
    if sample.is_empty() {
        bail!("this build has no bundled sample inventory (content/samples/demo.jsonl)");
    }
    let inventory =
        rampart_import::parse_snapshot("builtin:samples/demo.jsonl", sample, Utc::now())
            .map_err(|e| anyhow!("{e}"))?;
    runtime()?.block_on(async {
        let store = args
            .database
            .open(&args.data_dir)
            .await?
            .with_session_timeouts(session_timeouts(&args));
        let creds = rampart_server::prepare_demo(&store, &catalog, &inventory)
            .await
            .context("cannot prepare the demo workspace")?;
        let host = if args.listen.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            args.listen.ip().to_string()
        };
        println!();
        println!("  Rampart demo is starting.");
        println!("  URL:       https://{host}:{}/", args.listen.port());
        println!("  Email:     {}", creds.email);
        println!(
            "  Password:  {}   (shown once; only its argon2id hash is stored)",
            creds.password
        );
        println!("  Workspace: demo ({} assets)", inventory.assets.len());
        println!();
        println!("  The certificate is self-signed: your browser will ask you to accept it.");
        println!();
        serve_with_workers(&args, store, catalog).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs the server and, beside it, `--workers` job workers over the same store; the workers
/// stop (after their current job's heartbeat) when the server does.
async fn serve_with_workers(
    args: &ServeArgs,
    store: rampart_store::Store,
    catalog: Arc<rampart_rules::Catalog>,
) -> anyhow::Result<()> {
    let config = server_config(args);
    // One vault and one metrics registry for the server and the workers it runs.
    let mut parts = rampart_server::AppParts::new(
        rampart_server::load_vault(&config).context("cannot load the vault key")?,
    );
    crate::alerts::wire(&args.alerts, &args.worker_options.notify, &mut parts)?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let workers = if args.workers > 0 {
        crate::worker_cmd::workers(
            &store,
            catalog.clone(),
            parts.vault.clone(),
            &args.worker_options,
            usize::from(args.workers),
            &parts.metrics,
        )?
    } else {
        Vec::new()
    };
    // Scheduled backups: one backup worker when a backup directory is given, whatever
    // --workers says (the backup queue is the installation's, not the job queue).
    let backups = args.backups.backup_worker(
        &store,
        parts.vault.clone(),
        &args.worker_options,
        &parts.metrics,
        Some(parts.alerts.clone()),
    )?;
    let backup_rx = rx.clone();
    let backing_up = tokio::spawn(async move {
        if let Some(b) = backups {
            b.run(backup_rx).await;
        }
    });
    let running = tokio::spawn(crate::worker_cmd::run_workers(workers, rx));
    let result = rampart_server::serve_with(config, store, catalog, parts)
        .await
        .context("server failed");
    let _ = tx.send(true);
    let _ = running.await;
    let _ = backing_up.await;
    result
}
