//! `rampart`: the command-line entry point.
//!
//! Exit codes: 0 success; 1 a control at or above `--fail-on` failed; 2 usage or input error.

mod admin_cmd;
mod alerts;
mod content_cmd;
mod database;
mod graph_cmd;
mod notify_cmd;
mod report_cmd;
mod scan;
mod server_cmd;
mod telemetry;
mod worker_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

/// jemalloc rather than the system allocator: a worker's peak RSS on 200,000 assets in 8
/// imports with two concurrent jobs went from 1,512 MiB to 749 MiB (with SQLite's temporary
/// files on disk), as glibc's per-thread arenas kept the freed memory of earlier jobs
/// (docs/benchmarks.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "rampart",
    version,
    about = "Rampart: cloud security posture management — inventory, controls, findings",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate controls against inventory files and print the findings.
    Scan(scan::ScanArgs),
    /// Import inventory files into a workspace of the local store and evaluate them.
    Import(server_cmd::ImportArgs),
    /// Run the HTTPS server (API and web app), with job workers unless --workers 0.
    Serve(server_cmd::ServeArgs),
    /// Run queued jobs (connector scans, re-evaluations) from the shared database.
    Worker(worker_cmd::WorkerArgs),
    /// Run the server with a demo workspace filled from the bundled sample inventory.
    Demo(server_cmd::DemoArgs),
    /// Inspect, test and measure the coverage of controls.
    #[command(subcommand)]
    Controls(content_cmd::ControlsCommand),
    /// Inspect compliance frameworks and their requirements.
    #[command(subcommand)]
    Frameworks(content_cmd::FrameworksCommand),
    /// Explore the security graph: attack paths and neighbourhoods.
    #[command(subcommand)]
    Graph(graph_cmd::GraphCommand),
    /// Check the integrity of the hash-chained audit log.
    #[command(subcommand)]
    Audit(admin_cmd::AuditCommand),
    /// Manage the key that seals stored credentials and MFA secrets.
    #[command(subcommand)]
    Vault(admin_cmd::VaultCommand),
    /// Create users and manage installation operators.
    #[command(subcommand)]
    User(admin_cmd::UserCommand),
    /// Create organizations (groups of workspaces sharing an SSO configuration).
    #[command(subcommand)]
    Org(admin_cmd::OrgCommand),
    /// Create workspaces.
    #[command(subcommand)]
    Workspace(admin_cmd::WorkspaceCommand),
    /// Write an encrypted, verifiable backup of the store (online: the server may keep running).
    Backup(admin_cmd::BackupArgs),
    /// Restore a backup into a data directory (refuses a live or non-empty database without --force).
    Restore(admin_cmd::RestoreArgs),
    /// Compliance reports (PDF, HTML) and CSV exports of findings and inventory.
    #[command(subcommand)]
    Report(report_cmd::ReportCommand),
    /// Hold the running installation to the security policy (TLS, ports, MFA, backups, audit
    /// log, vault key, metrics); exit 1 when a requirement fails.
    Selfcheck(server_cmd::SelfcheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Import(args) => server_cmd::import(args),
        Command::Serve(args) => server_cmd::serve(args),
        Command::Worker(args) => worker_cmd::run(args),
        Command::Demo(args) => server_cmd::demo(args),
        Command::Controls(cmd) => content_cmd::controls(cmd),
        Command::Frameworks(cmd) => content_cmd::frameworks(cmd),
        Command::Graph(cmd) => graph_cmd::run(cmd),
        Command::Audit(cmd) => admin_cmd::audit(cmd),
        Command::Vault(cmd) => admin_cmd::vault(cmd),
        Command::User(cmd) => admin_cmd::user(cmd),
        Command::Org(cmd) => admin_cmd::org(cmd),
        Command::Workspace(cmd) => admin_cmd::workspace(cmd),
        Command::Backup(args) => admin_cmd::backup(args),
        Command::Selfcheck(args) => server_cmd::selfcheck(args),
        Command::Restore(args) => admin_cmd::restore(args),
        Command::Report(cmd) => report_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

pub(crate) fn load_catalog(dirs: &[PathBuf]) -> anyhow::Result<rampart_rules::Catalog> {
    rampart_rules::Catalog::load(dirs)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .map_err(|e| e.context("cannot load controls"))
}
