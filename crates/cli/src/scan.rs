//! `rampart scan`: files (or a live AWS account) in, findings out, exit code for pipelines.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rampart_model::{FindingStatus, Inventory, Severity};
use rampart_output::{Format, Report, ReportItem};
use rampart_rules::{Filter, Graph};

mod aws;
mod cloud;

/// Exit status when the scan is complete and nothing fails at `--fail-on`.
const EXIT_OK: u8 = 0;
/// Exit status when a control at or above `--fail-on` fails.
const EXIT_FAILING: u8 = 1;
/// Exit status when collection was incomplete (some API calls failed) and no control failed
/// at `--fail-on`; failing controls take precedence (exit 1).
pub(crate) const EXIT_INCOMPLETE: u8 = 3;

const EXIT_CODES: &str = "Exit status: 0 = no failing result at --fail-on; 1 = at least one \
failing result at or above --fail-on; 2 = usage, input or credential error; 3 = (scan aws|gcp|azure) \
no failing result, but collection was incomplete: some API calls failed (listed on stderr).";

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true, after_help = EXIT_CODES)]
pub struct ScanArgs {
    #[command(subcommand)]
    source: Option<ScanSource>,
    /// Inventory file: a Rampart snapshot (.jsonl), an AWS Config snapshot (.json, .json.gz), a
    /// Cloud Asset Inventory export or listing, or Azure Resource Graph / Microsoft Graph output;
    /// repeatable.
    #[arg(long = "input", short = 'i', value_name = "FILE", required = true)]
    input: Vec<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Subcommand, Debug)]
enum ScanSource {
    /// Collect a live AWS account with read-only credentials, then evaluate it.
    #[command(after_help = EXIT_CODES)]
    Aws(Box<aws::AwsArgs>),
    /// Collect a live Google Cloud project, folder or organization (Cloud Asset Inventory with a
    /// service-account key), then evaluate it.
    #[command(after_help = EXIT_CODES)]
    Gcp(Box<cloud::GcpArgs>),
    /// Collect a live Azure tenant (Resource Graph, ARM and Microsoft Graph with an app
    /// registration's client credentials), then evaluate it.
    #[command(after_help = EXIT_CODES)]
    Azure(Box<cloud::AzureArgs>),
}

/// Evaluation and output options shared by every scan source.
#[derive(Args, Debug)]
pub(crate) struct ReportArgs {
    /// Directory (or file) of additional control YAML files; repeatable.
    #[arg(long = "controls", value_name = "DIR")]
    controls: Vec<PathBuf>,
    /// Evaluate only the controls mapped to this framework (e.g. cis-aws-3.0).
    #[arg(long, value_name = "ID")]
    framework: Option<String>,
    /// Evaluate only the assets matching this CEL expression (e.g. "resource.region == 'eu-west-1'").
    #[arg(long = "where", value_name = "EXPR")]
    where_: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', default_value = "table", value_parser = ["table", "json", "ocsf", "sarif", "csv"])]
    format: String,
    /// Exit 1 when a control of this severity or above fails ("none" never fails).
    #[arg(long, default_value = "high", value_parser = ["info", "low", "medium", "high", "critical", "none"])]
    fail_on: String,
    /// Write the output to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Workspace name used in finding ids (keeps ids stable across runs).
    #[arg(long, default_value = "local")]
    workspace: String,
}

/// The parsed evaluation options, checked before any collection starts.
pub(crate) struct Prepared {
    format: Format,
    fail_on: Option<Severity>,
    catalog: rampart_rules::Catalog,
    filter: Option<Filter>,
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    match args.source {
        Some(ScanSource::Aws(aws_args)) => aws::run(*aws_args),
        Some(ScanSource::Gcp(gcp_args)) => cloud::run_gcp(*gcp_args),
        Some(ScanSource::Azure(azure_args)) => cloud::run_azure(*azure_args),
        None => {
            let prepared = prepare(&args.report)?;
            let now = Utc::now();
            let inventory =
                rampart_import::load_files(&args.input, now).map_err(|e| anyhow::anyhow!("{e}"))?;
            let code = evaluate_and_report(&args.report, prepared, inventory, now)?;
            Ok(ExitCode::from(code))
        }
    }
}

/// Parses the output options and loads the controls (errors here are usage errors, exit 2).
pub(crate) fn prepare(args: &ReportArgs) -> anyhow::Result<Prepared> {
    let format: Format = args
        .format
        .parse()
        .map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    let fail_on: Option<Severity> = match args.fail_on.as_str() {
        "none" => None,
        s => Some(s.parse().map_err(|e| anyhow::anyhow!("--fail-on: {e}"))?),
    };
    let mut catalog = crate::load_catalog(&args.controls)?;
    if let Some(fw) = &args.framework {
        catalog
            .restrict_to_framework(fw)
            .map_err(|e| anyhow::anyhow!("--framework: {e}"))?;
    }
    let filter = args
        .where_
        .as_deref()
        .map(Filter::compile)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--where: {e}"))?;
    Ok(Prepared {
        format,
        fail_on,
        catalog,
        filter,
    })
}

/// Filters, evaluates and writes the report; answers the exit status (0 or 1).
pub(crate) fn evaluate_and_report(
    args: &ReportArgs,
    prepared: Prepared,
    inventory: Inventory,
    now: DateTime<Utc>,
) -> anyhow::Result<u8> {
    let Prepared {
        format,
        fail_on,
        catalog,
        filter,
    } = prepared;
    // The graph spans the whole inventory, so that `related()` and `resource.computed` see every
    // neighbour, even those that `--where` leaves out of the report.
    let graph = Graph::build(&inventory);
    let mut selected: Option<HashSet<&str>> = None;
    if let Some(filter) = &filter {
        let mut kept = HashSet::new();
        for asset in &inventory.assets {
            match filter.matches_in(asset, now, &graph) {
                Ok(true) => {
                    kept.insert(asset.id.as_str());
                }
                Ok(false) => {}
                Err(e) => bail!("--where: cannot evaluate on asset {}: {e}", asset.native_id),
            }
        }
        selected = Some(kept);
    }
    let total = selected
        .as_ref()
        .map_or(inventory.assets.len(), HashSet::len);

    let progress = if std::io::stderr().is_terminal() {
        let pb = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} evaluating {pos}/{len} assets [{bar:30}] {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let mut evaluations = Vec::new();
    match &selected {
        None => {
            for chunk in inventory.assets.chunks(4096) {
                evaluations.extend(catalog.evaluate_assets_in(chunk, now, Some(&graph)));
                progress.inc(chunk.len() as u64);
            }
        }
        Some(ids) => {
            for asset in inventory
                .assets
                .iter()
                .filter(|a| ids.contains(a.id.as_str()))
            {
                catalog.evaluate_asset(asset, now, Some(&graph), &mut evaluations);
                progress.inc(1);
            }
        }
    }
    progress.finish_and_clear();

    let assets: HashMap<&str, &rampart_model::Asset> = inventory
        .assets
        .iter()
        .map(|a| (a.id.as_str(), a))
        .collect();
    let mut items = Vec::with_capacity(evaluations.len());
    let mut failing_at_threshold = 0usize;
    for ev in &evaluations {
        let (Some(control), Some(asset)) = (
            catalog.control(&ev.control_id),
            assets.get(ev.asset_id.as_str()),
        ) else {
            continue;
        };
        if ev.status == FindingStatus::Fail && fail_on.is_some_and(|t| control.severity >= t) {
            failing_at_threshold += 1;
        }
        // Every result goes to the formatter, which decides what its format shows.
        items.push(ReportItem {
            control,
            asset,
            status: ev.status,
            reason: &ev.reason,
        });
    }
    let report = Report {
        workspace: &args.workspace,
        generated_at: now,
        product_version: env!("CARGO_PKG_VERSION"),
        items,
    };

    match &args.output {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("cannot create --output {}", path.display()))?;
            rampart_output::write(format, &report, &mut file, false)
                .with_context(|| format!("cannot write {}", path.display()))?;
            file.flush()?;
        }
        None => {
            let stdout = std::io::stdout();
            let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let mut lock = stdout.lock();
            rampart_output::write(format, &report, &mut lock, color)?;
            lock.flush()?;
        }
    }
    if failing_at_threshold > 0 {
        if let Some(t) = fail_on {
            eprintln!("{failing_at_threshold} failing result(s) at or above severity {t}");
        }
        return Ok(EXIT_FAILING);
    }
    Ok(EXIT_OK)
}
