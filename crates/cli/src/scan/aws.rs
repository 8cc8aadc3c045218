//! `rampart scan aws`: collect a live AWS account, then evaluate it like a file scan.

use std::io::IsTerminal;
use std::process::ExitCode;

use chrono::Utc;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rampart_aws::{AwsScanConfig, Collection};

use super::{EXIT_INCOMPLETE, ReportArgs};

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("assume").args(["role_arn", "org_role_name"]).multiple(true)))]
pub struct AwsArgs {
    /// Named profile from ~/.aws/config (default: the standard credential chain: environment,
    /// profile from AWS_PROFILE, SSO, instance or container role).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Regions to scan, comma-separated (default: every region enabled in the account).
    #[arg(long, value_name = "REGION,...", value_delimiter = ',')]
    regions: Vec<String>,
    /// Role to assume before scanning (e.g. the role created by deploy/aws templates).
    #[arg(long, value_name = "ARN")]
    role_arn: Option<String>,
    /// External ID presented when assuming --role-arn (and the --org-role-name roles).
    #[arg(long, value_name = "ID", requires = "assume")]
    external_id: Option<String>,
    /// AWS Organizations: after the scanned (management) account, scan each active member
    /// account through this role (e.g. OrganizationAccountAccessRole).
    #[arg(long, value_name = "NAME")]
    org_role_name: Option<String>,
    /// Member accounts to scan with --org-role-name, comma-separated (default: every active one).
    #[arg(
        long,
        value_name = "ACCOUNT,...",
        value_delimiter = ',',
        requires = "org_role_name"
    )]
    org_accounts: Vec<String>,
    /// Member accounts to skip with --org-role-name, comma-separated.
    #[arg(
        long,
        value_name = "ACCOUNT,...",
        value_delimiter = ',',
        requires = "org_role_name"
    )]
    org_exclude_accounts: Vec<String>,
    /// Send every API call to this endpoint (an emulator such as moto); S3 then uses
    /// path-style addressing.
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// Regions scanned at the same time.
    #[arg(long, value_name = "N", default_value_t = 4)]
    region_concurrency: usize,
    #[command(flatten)]
    report: ReportArgs,
}

/// One bar on stderr, one tick per service and region.
struct Bar(ProgressBar);

impl rampart_aws::Progress for Bar {
    fn plan(&self, units: &[(String, String)]) {
        // One plan per account (organization scans): the bar grows with each.
        self.0.inc_length(units.len() as u64);
    }
    fn started(&self, service: &str, region: &str) {
        self.0.set_message(format!("{service} {region}"));
    }
    fn finished(&self, service: &str, region: &str, assets: usize, errors: usize) {
        if errors > 0 {
            self.0.println(format!(
                "  {service} {region}: {assets} assets, {errors} failed call(s)"
            ));
        }
        self.0.inc(1);
    }
}

pub fn run(args: AwsArgs) -> anyhow::Result<ExitCode> {
    let prepared = super::prepare(&args.report)?;
    let config = AwsScanConfig {
        profile: args.profile.clone(),
        regions: (!args.regions.is_empty()).then(|| args.regions.clone()),
        role_arn: args.role_arn.clone(),
        external_id: args.external_id.clone(),
        endpoint_url: args.endpoint_url.clone().filter(|u| !u.is_empty()),
        region_concurrency: Some(args.region_concurrency.max(1)),
        org_role_name: args.org_role_name.clone(),
        org_accounts: (!args.org_accounts.is_empty()).then(|| args.org_accounts.clone()),
        org_exclude_accounts: args.org_exclude_accounts.clone(),
        ..AwsScanConfig::default()
    };
    let bar = if std::io::stderr().is_terminal() {
        let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} collecting {pos}/{len} service×region [{bar:30}] {elapsed} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    } else {
        ProgressBar::hidden()
    };
    let progress = Bar(bar);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    let collection = runtime
        .block_on(rampart_aws::collect(&config, &progress))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    progress.0.finish_and_clear();
    drop(runtime);
    summarise(&collection);
    let complete = collection.errors.is_empty();
    let code =
        super::evaluate_and_report(&args.report, prepared, collection.inventory, Utc::now())?;
    if code == 0 && !complete {
        return Ok(ExitCode::from(EXIT_INCOMPLETE));
    }
    Ok(ExitCode::from(code))
}

/// What was collected, and every failed call, on stderr.
fn summarise(c: &Collection) {
    let members = c.accounts.len().saturating_sub(1);
    let accounts = if members > 0 {
        format!("account {} and {members} member account(s)", c.account_id)
    } else {
        format!("account {}", c.account_id)
    };
    eprintln!(
        "collected {} assets and {} relationships from {accounts} in {} region(s)",
        c.inventory.assets.len(),
        c.inventory.relationships.len(),
        c.regions.len()
    );
    if c.errors.is_empty() {
        return;
    }
    eprintln!(
        "collection incomplete: {} API call(s) failed; the resources they list are missing from this scan:",
        c.errors.len()
    );
    const SHOWN: usize = 50;
    for e in c.errors.iter().take(SHOWN) {
        let message: String = e.message.chars().take(240).collect();
        if members > 0 {
            eprintln!(
                "  {} {} {} {}: {}",
                e.account, e.service, e.region, e.operation, message
            );
        } else {
            eprintln!("  {} {} {}: {}", e.service, e.region, e.operation, message);
        }
    }
    if c.errors.len() > SHOWN {
        eprintln!("  … and {} more", c.errors.len() - SHOWN);
    }
}
