//! `rampart scan`: files in, findings out, exit code for pipelines.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rampart_model::{FindingStatus, Severity};
use rampart_output::{Format, Report, ReportItem};
use rampart_rules::Filter;

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Inventory file: a Rampart snapshot (.jsonl) or an AWS Config snapshot (.json, .json.gz); repeatable.
    #[arg(long = "input", short = 'i', value_name = "FILE", required = true)]
    input: Vec<PathBuf>,
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

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
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

    let now = Utc::now();
    let mut inventory =
        rampart_import::load_files(&args.input, now).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(filter) = &filter {
        let mut kept = Vec::with_capacity(inventory.assets.len());
        for asset in inventory.assets {
            match filter.matches(&asset, now) {
                Ok(true) => kept.push(asset),
                Ok(false) => {}
                Err(e) => bail!("--where: cannot evaluate on asset {}: {e}", asset.native_id),
            }
        }
        inventory.assets = kept;
    }

    let progress = if std::io::stderr().is_terminal() {
        let pb = ProgressBar::with_draw_target(
            Some(inventory.assets.len() as u64),
            ProgressDrawTarget::stderr(),
        );
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
    for chunk in inventory.assets.chunks(4096) {
        evaluations.extend(catalog.evaluate_assets(chunk, now));
        progress.inc(chunk.len() as u64);
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
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
