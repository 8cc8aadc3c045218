//! `rampart scan gcp` and `rampart scan azure`: collect a live Google Cloud scope or Azure tenant
//! over their REST APIs, then evaluate it like a file scan. Failed API calls are listed on stderr
//! and make the exit status 3 when nothing failed at `--fail-on`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use chrono::Utc;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{EXIT_INCOMPLETE, ReportArgs};

#[derive(Args, Debug)]
pub struct GcpArgs {
    /// What to scan: projects/ID, folders/NUMBER or organizations/NUMBER.
    #[arg(long, value_name = "SCOPE")]
    scope: String,
    /// Service-account key file (JSON, type service_account), e.g. from deploy/gcp/terraform.
    #[arg(long, value_name = "FILE", env = "GOOGLE_APPLICATION_CREDENTIALS")]
    credentials: PathBuf,
    /// Only these Cloud Asset Inventory asset types, comma-separated (default: every type
    /// Rampart maps).
    #[arg(long, value_name = "TYPE,...", value_delimiter = ',')]
    asset_types: Vec<String>,
    /// Send Cloud Asset Inventory calls to this base URL instead of cloudasset.googleapis.com
    /// (an emulator or a recorded replay; plain http needs --allow-insecure-http).
    #[arg(long, value_name = "URL")]
    cloudasset_endpoint: Option<String>,
    /// Base URLs instead of essentialcontacts.googleapis.com and accessapproval.googleapis.com.
    #[arg(long, value_name = "URL")]
    essentialcontacts_endpoint: Option<String>,
    #[arg(long, value_name = "URL")]
    accessapproval_endpoint: Option<String>,
    /// Send token requests here instead of the key's token_uri.
    #[arg(long, value_name = "URL")]
    token_endpoint: Option<String>,
    /// Allow plain-http endpoints (local replays only).
    #[arg(long)]
    allow_insecure_http: bool,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Args, Debug)]
pub struct AzureArgs {
    /// Microsoft Entra tenant id (GUID) of the app registration.
    #[arg(long, value_name = "ID", env = "AZURE_TENANT_ID")]
    tenant_id: String,
    /// Application (client) id, e.g. from deploy/azure/terraform.
    #[arg(long, value_name = "ID", env = "AZURE_CLIENT_ID")]
    client_id: String,
    /// Client secret, read from this environment variable (never from the command line).
    #[arg(long, value_name = "VAR", default_value = "AZURE_CLIENT_SECRET")]
    client_secret_env: String,
    /// Subscriptions to scan, comma-separated (default: every subscription the app can see).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    subscriptions: Vec<String>,
    /// Skip Microsoft Graph (Entra ID): Azure resources only.
    #[arg(long)]
    skip_entra: bool,
    /// Base URLs instead of login.microsoftonline.com, management.azure.com and
    /// graph.microsoft.com (sovereign clouds, or local replays with --allow-insecure-http).
    #[arg(long, value_name = "URL")]
    login_endpoint: Option<String>,
    #[arg(long, value_name = "URL")]
    arm_endpoint: Option<String>,
    #[arg(long, value_name = "URL")]
    graph_endpoint: Option<String>,
    /// Allow plain-http endpoints (local replays only).
    #[arg(long)]
    allow_insecure_http: bool,
    #[command(flatten)]
    report: ReportArgs,
}

fn bar(unit: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} collecting {{pos}}/{{len}} {unit} [{{bar:30}}] {{elapsed}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

struct GcpBar(ProgressBar);

impl rampart_gcp::Progress for GcpBar {
    fn plan(&self, units: &[String]) {
        self.0.inc_length(units.len() as u64);
    }
    fn started(&self, unit: &str) {
        self.0.set_message(unit.to_owned());
    }
    fn finished(&self, unit: &str, assets: usize, errors: usize) {
        if errors > 0 {
            self.0.println(format!(
                "  {unit}: {assets} assets, {errors} failed call(s)"
            ));
        }
        self.0.inc(1);
    }
}

struct AzureBar(ProgressBar);

impl rampart_azure::Progress for AzureBar {
    fn plan(&self, units: &[(String, String)]) {
        self.0.inc_length(units.len() as u64);
    }
    fn started(&self, service: &str, scope: &str) {
        self.0.set_message(format!("{service} {scope}"));
    }
    fn finished(&self, service: &str, scope: &str, assets: usize, errors: usize) {
        if errors > 0 {
            self.0.println(format!(
                "  {service} {scope}: {assets} assets, {errors} failed call(s)"
            ));
        }
        self.0.inc(1);
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Failed calls on stderr, at most 50 of them.
fn list_errors(errors: &[String]) {
    if errors.is_empty() {
        return;
    }
    eprintln!(
        "collection incomplete: {} API call(s) failed; the resources they list are missing from this scan:",
        errors.len()
    );
    for e in errors.iter().take(50) {
        eprintln!("  {e}");
    }
    if errors.len() > 50 {
        eprintln!("  … and {} more", errors.len() - 50);
    }
}

fn finish(
    report: &ReportArgs,
    prepared: super::Prepared,
    inventory: rampart_model::Inventory,
    complete: bool,
) -> anyhow::Result<ExitCode> {
    let code = super::evaluate_and_report(report, prepared, inventory, Utc::now())?;
    if code == 0 && !complete {
        return Ok(ExitCode::from(EXIT_INCOMPLETE));
    }
    Ok(ExitCode::from(code))
}

pub fn run_gcp(args: GcpArgs) -> anyhow::Result<ExitCode> {
    let prepared = super::prepare(&args.report)?;
    let scope = rampart_gcp::Scope::parse(&args.scope).map_err(|e| anyhow!("--scope: {e}"))?;
    let text = std::fs::read_to_string(&args.credentials)
        .with_context(|| format!("--credentials: cannot read {}", args.credentials.display()))?;
    let key = rampart_gcp::ServiceAccountKey::from_json(&text)
        .map_err(|e| anyhow!("--credentials {}: {e}", args.credentials.display()))?;
    let mut config = rampart_gcp::GcpScanConfig::new(scope, key);
    if !args.asset_types.is_empty() {
        config.asset_types = Some(args.asset_types.clone());
    }
    config.endpoints.cloudasset = args.cloudasset_endpoint.clone();
    config.endpoints.essentialcontacts = args.essentialcontacts_endpoint.clone();
    config.endpoints.accessapproval = args.accessapproval_endpoint.clone();
    config.endpoints.token_uri = args.token_endpoint.clone();
    config.allow_insecure_http = args.allow_insecure_http;
    let progress = GcpBar(bar("API calls"));
    let rt = runtime()?;
    let collection = rt
        .block_on(rampart_gcp::collect(&config, &progress))
        .map_err(|e| anyhow!("{e}"))?;
    progress.0.finish_and_clear();
    drop(rt);
    eprintln!(
        "collected {} assets and {} relationships from {} as {}",
        collection.inventory.assets.len(),
        collection.inventory.relationships.len(),
        collection.scope,
        collection.principal
    );
    let errors: Vec<String> = collection
        .errors
        .iter()
        .map(|e| {
            let message: String = e.message.chars().take(240).collect();
            format!("{} {} {}: {message}", e.scope, e.service, e.operation)
        })
        .collect();
    list_errors(&errors);
    finish(
        &args.report,
        prepared,
        collection.inventory,
        errors.is_empty(),
    )
}

pub fn run_azure(args: AzureArgs) -> anyhow::Result<ExitCode> {
    let prepared = super::prepare(&args.report)?;
    let secret = std::env::var(&args.client_secret_env).map_err(|_| {
        anyhow!(
            "--client-secret-env: the environment variable {} is not set",
            args.client_secret_env
        )
    })?;
    let config = rampart_azure::AzureScanConfig {
        tenant_id: args.tenant_id.clone(),
        client_id: args.client_id.clone(),
        client_secret: rampart_azure::ClientSecret::new(secret),
        subscriptions: (!args.subscriptions.is_empty()).then(|| args.subscriptions.clone()),
        login_endpoint: args.login_endpoint.clone(),
        arm_endpoint: args.arm_endpoint.clone(),
        graph_endpoint: args.graph_endpoint.clone(),
        allow_insecure_http: args.allow_insecure_http,
        skip_entra: args.skip_entra,
        ..rampart_azure::AzureScanConfig::default()
    };
    let progress = AzureBar(bar("service×scope"));
    let rt = runtime()?;
    let collection = rt
        .block_on(rampart_azure::collect(&config, &progress))
        .map_err(|e| anyhow!("{e}"))?;
    progress.0.finish_and_clear();
    drop(rt);
    eprintln!(
        "collected {} assets and {} relationships from tenant {} and {} subscription(s)",
        collection.inventory.assets.len(),
        collection.inventory.relationships.len(),
        collection.tenant_id,
        collection.subscriptions.len()
    );
    let errors: Vec<String> = collection
        .errors
        .iter()
        .map(|e| {
            let message: String = e.message.chars().take(240).collect();
            format!(
                "{} {} {} {}: {message}",
                e.account, e.service, e.region, e.operation
            )
        })
        .collect();
    list_errors(&errors);
    finish(
        &args.report,
        prepared,
        collection.inventory,
        errors.is_empty(),
    )
}
