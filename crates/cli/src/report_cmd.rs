//! `rampart report …`: a framework's compliance report (PDF or HTML), and the findings or the
//! inventory of a workspace as CSV, read from the local store.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use rampart_model::{FindingStatus, Severity};
use rampart_output::compliance::ReportFormat;
use rampart_store::{FindingFilter, Store, WorkspaceStore};

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// A framework's compliance report: score, requirements, failing assets, exemptions.
    Compliance {
        #[command(flatten)]
        target: Target,
        /// Framework id (see `rampart frameworks list`), e.g. cis-aws-3.0.
        #[arg(long, short = 'f', value_name = "ID")]
        framework: String,
        /// pdf or html.
        #[arg(long, default_value = "pdf", value_name = "FORMAT")]
        format: String,
    },
    /// Every finding of the workspace as CSV (RFC 4180, one header row).
    Findings {
        #[command(flatten)]
        target: Target,
        /// Only findings with this status (pass, fail, error, not_applicable).
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// Only findings of this severity (critical, high, medium, low, info).
        #[arg(long, value_name = "SEVERITY")]
        severity: Option<String>,
    },
    /// Every asset of the workspace as CSV.
    Inventory {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Args, Debug)]
pub struct Target {
    /// Data directory holding the store.
    #[arg(
        long,
        env = "RAMPART_DATA_DIR",
        default_value = "rampart-data",
        value_name = "DIR"
    )]
    data_dir: PathBuf,
    #[command(flatten)]
    database: crate::database::DatabaseArgs,
    /// Workspace slug.
    #[arg(long, short = 'w', value_name = "SLUG")]
    workspace: String,
    /// Output file (`-` for standard output); default: a dated file name in the current directory.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// Directory (or file) of additional control YAML files; repeatable.
    #[arg(long = "controls", value_name = "DIR")]
    controls: Vec<PathBuf>,
}

async fn open(target: &Target) -> anyhow::Result<(Store, WorkspaceStore)> {
    let store = target.database.open(&target.data_dir).await?;
    let scope = store
        .operator_scope(&target.workspace)
        .await?
        .ok_or_else(|| anyhow!("--workspace: no workspace {:?}", target.workspace))?;
    let ws = store.scoped(&scope);
    Ok((store, ws))
}

/// Writes `bytes` to `out` (or stdout for `-`) through a temporary file renamed into place, so a
/// failure never leaves half a report behind.
fn write_out(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = Streamed::create(out)?;
    file.write(bytes)
        .with_context(|| format!("--out: cannot write {}", out.display()))?;
    file.finish()
}

/// A file written chunk by chunk through a temporary file renamed into place at the end (or
/// standard output for `-`): an export never holds the whole workspace in memory, and a failure
/// leaves no partial file.
enum Streamed {
    Stdout(std::io::Stdout),
    File(tempfile::NamedTempFile, PathBuf),
}

impl Streamed {
    fn create(out: &Path) -> anyhow::Result<Streamed> {
        if out.as_os_str() == "-" {
            return Ok(Streamed::Stdout(std::io::stdout()));
        }
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("--out: cannot write in {}", dir.display()))?;
        Ok(Streamed::File(tmp, out.to_path_buf()))
    }

    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        match self {
            Streamed::Stdout(s) => s.write_all(chunk),
            Streamed::File(f, _) => f.write_all(chunk),
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Streamed::Stdout(mut s) => Ok(s.flush()?),
            Streamed::File(f, out) => {
                f.persist(&out)
                    .map_err(|e| anyhow!("--out: cannot write {}: {}", out.display(), e.error))?;
                eprintln!("wrote {}", out.display());
                Ok(())
            }
        }
    }
}

/// Where export chunks go; the first write error stops the export.
struct Sink {
    file: Streamed,
    failed: Option<std::io::Error>,
}

impl Sink {
    fn push(&mut self, chunk: Vec<u8>) -> std::future::Ready<bool> {
        if self.failed.is_none()
            && let Err(e) = self.file.write(&chunk)
        {
            self.failed = Some(e);
        }
        std::future::ready(self.failed.is_none())
    }

    fn finish(self, out: &Path) -> anyhow::Result<()> {
        if let Some(e) = self.failed {
            return Err(anyhow!("--out: cannot write {}: {e}", out.display()));
        }
        self.file.finish()
    }
}

pub fn run(cmd: ReportCommand) -> anyhow::Result<ExitCode> {
    crate::server_cmd::runtime()?.block_on(async move {
        match cmd {
            ReportCommand::Compliance {
                target,
                framework,
                format,
            } => {
                let format = ReportFormat::parse(&format).map_err(|e| anyhow!("--format: {e}"))?;
                let catalog = crate::load_catalog(&target.controls)?;
                if catalog.framework(&framework).is_none() {
                    bail!(
                        "--framework: no framework {framework:?} (see `rampart frameworks list`)"
                    );
                }
                let (_store, ws) = open(&target).await?;
                let report = rampart_server::reports::compliance_report(
                    &ws,
                    &catalog,
                    &framework,
                    &target.workspace,
                    Utc::now(),
                )
                .await?
                .ok_or_else(|| anyhow!("--framework: no framework {framework:?}"))?;
                let out = target
                    .out
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(report.file_name(format)));
                write_out(&out, &report.render(format))?;
            }
            ReportCommand::Findings {
                target,
                status,
                severity,
            } => {
                let status: Option<FindingStatus> = status
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|e| anyhow!("--status: {e}"))?;
                let severity: Option<Severity> = severity
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|e| anyhow!("--severity: {e}"))?;
                let catalog = crate::load_catalog(&target.controls)?;
                let (_store, ws) = open(&target).await?;
                let filter = FindingFilter {
                    status,
                    severity,
                    ..FindingFilter::default()
                };
                let out = target.out.clone().unwrap_or_else(|| {
                    PathBuf::from(format!(
                        "rampart-{}-findings-{}.csv",
                        target.workspace,
                        Utc::now().format("%Y%m%d")
                    ))
                });
                let mut sink = Sink {
                    file: Streamed::create(&out)?,
                    failed: None,
                };
                let rows = rampart_server::reports::export_findings_csv(
                    &ws,
                    &catalog,
                    &filter,
                    Utc::now(),
                    |c| sink.push(c),
                )
                .await?;
                sink.finish(&out)?;
                eprintln!("{rows} findings");
            }
            ReportCommand::Inventory { target } => {
                let (_store, ws) = open(&target).await?;
                let out = target.out.clone().unwrap_or_else(|| {
                    PathBuf::from(format!(
                        "rampart-{}-inventory-{}.csv",
                        target.workspace,
                        Utc::now().format("%Y%m%d")
                    ))
                });
                let mut sink = Sink {
                    file: Streamed::create(&out)?,
                    failed: None,
                };
                let rows =
                    rampart_server::reports::export_assets_csv(&ws, |c| sink.push(c)).await?;
                sink.finish(&out)?;
                eprintln!("{rows} assets");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
