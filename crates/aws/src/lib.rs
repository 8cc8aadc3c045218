//! Live AWS collector.
//!
//! Lists an account's resources with the official AWS SDK for Rust and normalises them into
//! Rampart assets whose `config` has exactly the shapes of docs/asset-types.md, plus typed
//! relationships between them. This crate is the only one that depends on the (slow to compile)
//! AWS SDK, so that nothing else rebuilds when it changes.
//!
//! Architecture invariants:
//! - a failing API call never aborts a scan: it becomes a [`CollectionError`] naming the
//!   service, region and operation, and collection goes on;
//! - only the credentials and the account id are fatal ([`AwsError`]);
//! - every operation the collector calls is listed in [`operations::OPERATIONS`] (checked by a
//!   test against the source), so the onboarding templates can be checked to allow each one.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use rampart_model::{Asset, Inventory, Provider, Relationship, ResourceType, Sweep};
use serde_json::{Map, Value, json};

mod account;
mod acm;
mod dynamodb;
mod ec2;
mod ecr;
mod eks;
mod elbv2;
mod guardduty;
mod iam;
mod lambda;
mod logging;
mod monitoring;
pub mod operations;
mod organizations;
mod rds;
mod s3;
mod secrets;
mod services;
mod sqs;
mod util;

/// What to scan and how to authenticate.
#[derive(Debug, Clone, Default)]
pub struct AwsScanConfig {
    /// Named profile from `~/.aws/config` / `~/.aws/credentials` (default chain when `None`).
    pub profile: Option<String>,
    /// Static credentials; take precedence over the profile and the default chain.
    pub credentials: Option<StaticCredentials>,
    /// Regions to scan; `None` = every region enabled in the account (`DescribeRegions`).
    pub regions: Option<Vec<String>>,
    /// Region used for global services and region discovery (default `us-east-1`).
    pub home_region: Option<String>,
    /// Role to assume before scanning (cross-account access).
    pub role_arn: Option<String>,
    /// External ID presented when assuming `role_arn`.
    pub external_id: Option<String>,
    /// Custom endpoint for every service (an emulator); S3 then uses path-style addressing.
    pub endpoint_url: Option<String>,
    /// Regions scanned at the same time (default 4).
    pub region_concurrency: Option<usize>,
    /// Service collectors run at the same time within one region (default 4).
    pub service_concurrency: Option<usize>,
    /// Page size asked of paginated list operations (`None` = the service default).
    pub page_size: Option<i32>,
    /// Attempts per call under the adaptive retry strategy (default 5).
    pub max_attempts: Option<u32>,
    /// Time stamped on the assets as first/last seen (default: now).
    pub observed_at: Option<DateTime<Utc>>,
    /// AWS Organizations: after the scanned (management) account, scan every active member
    /// account through this role (`arn:PARTITION:iam::MEMBER:role/NAME`, assumed from the
    /// scanning credentials, with `external_id` when given).
    pub org_role_name: Option<String>,
    /// Member accounts to scan with `org_role_name` (`None` = every active account listed).
    pub org_accounts: Option<Vec<String>>,
    /// Member accounts never scanned with `org_role_name`.
    pub org_exclude_accounts: Vec<String>,
    /// Member accounts scanned at the same time (default 2).
    pub account_concurrency: Option<usize>,
}

/// An access key pair given explicitly.
#[derive(Clone)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .finish()
    }
}

/// A call that failed; the scan went on without its results.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CollectionError {
    /// Account whose collection the call belonged to.
    pub account: String,
    /// Service name as in IAM actions (`iam`, `ec2`, `s3`, ...).
    pub service: String,
    /// Region, or `global`.
    pub region: String,
    /// API operation (`DescribeInstances`).
    pub operation: String,
    pub message: String,
}

/// The result of a scan: what was seen, and what could not be listed.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    pub inventory: Inventory,
    pub errors: Vec<CollectionError>,
    /// Account that was scanned (the management account of an organization scan).
    pub account_id: String,
    /// Every account collected: `account_id` first, then the organization's member accounts
    /// that could be scanned (`org_role_name`).
    pub accounts: Vec<String>,
    /// Regions that were scanned.
    pub regions: Vec<String>,
    /// What was listed completely (see [`sweeps`]): stored assets under a sweep that this
    /// collection does not hold are gone; the others are kept.
    pub sweeps: Vec<Sweep>,
}

/// Errors that stop a scan before it starts.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("cannot establish the AWS identity (sts:GetCallerIdentity): {0}")]
    Identity(String),
    #[error("cannot assume role {role_arn}: {message}")]
    AssumeRole { role_arn: String, message: String },
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Progress callbacks, one pair per service and region (`region` is `global` for global
/// services). Implementations must be cheap: they are called from the collection loop.
pub trait Progress: Sync {
    /// The set of (service, region) units is known.
    fn plan(&self, _units: &[(String, String)]) {}
    fn started(&self, _service: &str, _region: &str) {}
    fn finished(&self, _service: &str, _region: &str, _assets: usize, _errors: usize) {}
}

/// A [`Progress`] that reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Regional services, each collected once per region.
pub const REGIONAL_SERVICES: &[&str] = &[
    "ec2",
    "kms",
    "cloudtrail",
    "rds",
    "efs",
    "config",
    "access-analyzer",
    "securityhub",
    "lambda",
    "elasticloadbalancing",
    "acm",
    "secretsmanager",
    "eks",
    "ecr",
    "dynamodb",
    "sqs",
    "guardduty",
    "logs",
    "cloudwatch",
    "sns",
];
/// Global services, collected once per account.
pub const GLOBAL_SERVICES: &[&str] = &["iam", "s3", "account", "organizations"];

/// Identity of an asset before its id is computed: resolved to ids when the scan ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub resource_type: &'static str,
    pub native_id: String,
}

pub(crate) fn key(resource_type: &'static str, native_id: impl Into<String>) -> Key {
    Key {
        resource_type,
        native_id: native_id.into(),
    }
}

#[derive(Default)]
struct SinkInner {
    assets: Vec<Asset>,
    /// (type, native_id) → asset id, for resolving edges.
    index: HashMap<(String, String), String>,
    edges: Vec<(Key, Key, &'static str)>,
    errors: Vec<CollectionError>,
}

/// Shared state of one scan.
pub(crate) struct Scan {
    pub account: String,
    pub partition: String,
    pub config: SdkConfig,
    pub page_size: Option<i32>,
    pub path_style: bool,
    pub endpoint_url: Option<String>,
    pub now: DateTime<Utc>,
    inner: Mutex<SinkInner>,
    /// Fields of synthetic assets (`account`, or a region name) filled by several collectors.
    parts: Mutex<HashMap<String, Map<String, Value>>>,
}

/// What one service collector in one region sees.
pub(crate) struct Ctx<'a> {
    pub scan: &'a Scan,
    pub region: String,
    pub service: &'static str,
    pub config: SdkConfig,
    assets: Mutex<usize>,
    errors: Mutex<usize>,
}

impl Scan {
    pub(crate) fn set_part(&self, asset: &str, field: &str, value: Value) {
        if value.is_null() {
            return;
        }
        let mut parts = match self.parts.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        parts
            .entry(asset.to_string())
            .or_default()
            .insert(field.to_string(), value);
    }

    pub(crate) fn take_parts(&self, asset: &str) -> Map<String, Value> {
        let mut parts = match self.parts.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        parts.remove(asset).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SinkInner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl<'a> Ctx<'a> {
    fn new(scan: &'a Scan, service: &'static str, region: &str) -> Self {
        let config = scan
            .config
            .to_builder()
            .region(Region::new(region_for_calls(scan, region)))
            .build();
        Ctx {
            scan,
            region: region.to_string(),
            service,
            config,
            assets: Mutex::new(0),
            errors: Mutex::new(0),
        }
    }

    pub fn account(&self) -> &str {
        &self.scan.account
    }

    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` in this context's region.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.scan.partition, self.region, self.scan.account
        )
    }

    /// Records an asset in this context's region.
    pub fn asset(
        &self,
        resource_type: &'static str,
        native_id: &str,
        name: &str,
        tags: Vec<(String, String)>,
        config: Value,
    ) -> Key {
        let region = self.region.clone();
        self.asset_in(&region, resource_type, native_id, name, tags, config)
    }

    /// Records an asset in the given region (`global` for account-wide ones).
    pub fn asset_in(
        &self,
        region: &str,
        resource_type: &'static str,
        native_id: &str,
        name: &str,
        tags: Vec<(String, String)>,
        config: Value,
    ) -> Key {
        let k = key(resource_type, native_id);
        let Ok(rt) = ResourceType::parse(resource_type) else {
            self.error("internal", format!("bad resource type {resource_type}"));
            return k;
        };
        let id = Asset::make_id(Provider::Aws, &self.scan.account, region, &rt, native_id);
        let asset = Asset {
            id: id.clone(),
            provider: Provider::Aws,
            account: self.scan.account.clone(),
            region: region.to_string(),
            resource_type: rt,
            native_id: native_id.to_string(),
            name: name.to_string(),
            tags: tags.into_iter().collect(),
            config: util::strip_nulls(config),
            first_seen: self.scan.now,
            last_seen: self.scan.now,
        };
        let mut inner = self.scan.lock();
        inner
            .index
            .insert((resource_type.to_string(), native_id.to_string()), id);
        inner.assets.push(asset);
        drop(inner);
        if let Ok(mut n) = self.assets.lock() {
            *n += 1;
        }
        k
    }

    /// Records an edge; dropped at the end of the scan when either end was not collected.
    pub fn edge(&self, from: &Key, to: Key, kind: &'static str) {
        self.scan.lock().edges.push((from.clone(), to, kind));
    }

    /// Sets a field of this region's `aws.account.region` asset.
    pub fn region_field(&self, field: &str, value: Value) {
        self.scan.set_part(&self.region, field, value);
    }

    /// Records a failed operation.
    pub fn error(&self, operation: &str, message: impl Into<String>) {
        let e = CollectionError {
            account: self.scan.account.clone(),
            service: self.service.to_string(),
            region: self.region.clone(),
            operation: operation.to_string(),
            message: message.into(),
        };
        self.scan.lock().errors.push(e);
        if let Ok(mut n) = self.errors.lock() {
            *n += 1;
        }
    }

    /// Unwraps a call's result, recording the error and answering `None` when it failed.
    pub fn ok<T, E>(&self, operation: &str, result: Result<T, E>) -> Option<T>
    where
        E: std::error::Error + 'static,
    {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(operation, util::error_message(&e));
                None
            }
        }
    }

    fn counts(&self) -> (usize, usize) {
        let a = self.assets.lock().map(|n| *n).unwrap_or(0);
        let e = self.errors.lock().map(|n| *n).unwrap_or(0);
        (a, e)
    }
}

fn region_for_calls(scan: &Scan, region: &str) -> String {
    if region == "global" {
        scan.config
            .region()
            .map(|r| r.as_ref().to_string())
            .unwrap_or_else(|| "us-east-1".into())
    } else {
        region.to_string()
    }
}

async fn base_config(config: &AwsScanConfig) -> Result<SdkConfig, AwsError> {
    let retry = aws_config::retry::RetryConfig::adaptive()
        .with_max_attempts(config.max_attempts.unwrap_or(5).max(1));
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry);
    if let Some(p) = &config.profile {
        loader = loader.profile_name(p);
    }
    if let Some(c) = &config.credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.clone(),
            c.session_token.clone(),
            None,
            "rampart-static",
        ));
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let mut sdk = loader.load().await;
    let home = config
        .home_region
        .clone()
        .or_else(|| sdk.region().map(|r| r.as_ref().to_string()))
        .unwrap_or_else(|| "us-east-1".into());
    sdk = sdk.to_builder().region(Region::new(home)).build();
    if let Some(role_arn) = &config.role_arn {
        sdk = assume(&sdk, role_arn, config.external_id.as_deref()).await?;
    } else if config.external_id.is_some() && config.org_role_name.is_none() {
        return Err(AwsError::Config(
            "--external-id needs --role-arn or --org-role-name".into(),
        ));
    }
    Ok(sdk)
}

/// `sdk` with the credentials of `role_arn`, assumed from `sdk`'s credentials (checked once
/// up front so that a bad role fails fast, with a clear message).
async fn assume(
    sdk: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
) -> Result<SdkConfig, AwsError> {
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn.to_string())
        .session_name("rampart-scan")
        .configure(sdk);
    if let Some(id) = external_id {
        builder = builder.external_id(id.to_string());
    }
    let provider = builder.build().await;
    use aws_credential_types::provider::ProvideCredentials;
    if let Err(e) = provider.provide_credentials().await {
        return Err(AwsError::AssumeRole {
            role_arn: role_arn.to_string(),
            message: util::error_message(&e),
        });
    }
    Ok(sdk
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build())
}

/// Who the configured credentials are, as STS answers it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

/// Checks the connection without scanning: the credentials (after assuming `role_arn` with the
/// external ID, when set) call `sts:GetCallerIdentity`.
pub async fn check(config: &AwsScanConfig) -> Result<Identity, AwsError> {
    let sdk = base_config(config).await?;
    let identity = aws_sdk_sts::Client::new(&sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::Identity(util::error_message(&e)))?;
    Ok(Identity {
        account: identity.account().unwrap_or_default().to_owned(),
        arn: identity.arn().unwrap_or_default().to_owned(),
    })
}

/// Scans the account of the configured credentials (every selected region in parallel,
/// bounded; global services once) and, with `org_role_name`, the organization's member
/// accounts through that role. A member account that cannot be entered is a collection error
/// (`sts AssumeRole`), not a fatal one.
pub async fn collect(
    config: &AwsScanConfig,
    progress: &dyn Progress,
) -> Result<Collection, AwsError> {
    let sdk = base_config(config).await?;
    let mut collection = collect_account(config, &sdk, progress).await?;
    let Some(role_name) = config.org_role_name.as_deref() else {
        return Ok(collection);
    };
    let listed: Vec<(String, String, String)> = collection
        .inventory
        .assets
        .iter()
        .filter(|a| a.resource_type.as_str() == "aws.organizations.account")
        .filter_map(|a| {
            let field = |k: &str| a.config.get(k).and_then(Value::as_str).map(str::to_string);
            Some((
                field("id")?,
                field("status").unwrap_or_default(),
                field("arn")?,
            ))
        })
        .collect();
    let partition = listed
        .first()
        .and_then(|(_, _, arn)| arn.split(':').nth(1))
        .unwrap_or("aws")
        .to_string();
    let candidates: Vec<String> = match &config.org_accounts {
        Some(include) => include.clone(),
        None => listed
            .iter()
            .filter(|(_, status, _)| status == "ACTIVE")
            .map(|(id, _, _)| id.clone())
            .collect(),
    };
    let mut members: Vec<String> = candidates
        .into_iter()
        .filter(|id| *id != collection.account_id)
        .filter(|id| !config.org_exclude_accounts.contains(id))
        .filter(|id| {
            // An explicitly included account that the organization lists as not active is
            // skipped too.
            listed
                .iter()
                .all(|(l, status, _)| l != id || status == "ACTIVE")
        })
        .collect();
    members.sort();
    members.dedup();
    let sdk_ref = &sdk;
    let partition_ref = &partition;
    let results = futures_util::stream::iter(members)
        .map(|id| async move {
            let arn = format!("arn:{partition_ref}:iam::{id}:role/{role_name}");
            let result = match assume(sdk_ref, &arn, config.external_id.as_deref()).await {
                Ok(member) => collect_account(config, &member, progress).await,
                Err(e) => Err(e),
            };
            (id, result)
        })
        .buffer_unordered(config.account_concurrency.unwrap_or(2).max(1))
        .collect::<Vec<_>>()
        .await;
    for (id, result) in results {
        match result {
            Ok(member) => {
                collection.accounts.push(member.account_id.clone());
                // The management account's listing of the organization is the one kept.
                collection.inventory.assets.extend(
                    member
                        .inventory
                        .assets
                        .into_iter()
                        .filter(|a| a.resource_type.as_str() != "aws.organizations.account"),
                );
                collection
                    .inventory
                    .relationships
                    .extend(member.inventory.relationships);
                collection.errors.extend(member.errors);
                collection.sweeps.extend(
                    member
                        .sweeps
                        .into_iter()
                        .filter(|s| s.resource_type != "aws.organizations.account"),
                );
                for r in member.regions {
                    if !collection.regions.contains(&r) {
                        collection.regions.push(r);
                    }
                }
            }
            Err(e) => collection.errors.push(CollectionError {
                account: id,
                service: "sts".into(),
                region: "global".into(),
                operation: "AssumeRole".into(),
                message: e.to_string(),
            }),
        }
    }
    collection.accounts[1..].sort();
    collection.inventory.assets.sort_by(|a, b| a.id.cmp(&b.id));
    collection.inventory.relationships.sort();
    collection.inventory.relationships.dedup();
    collection.errors.sort_by(|a, b| {
        (&a.account, &a.service, &a.region, &a.operation).cmp(&(
            &b.account,
            &b.service,
            &b.region,
            &b.operation,
        ))
    });
    Ok(collection)
}

/// Scans one account with the given SDK configuration.
async fn collect_account(
    config: &AwsScanConfig,
    sdk: &SdkConfig,
    progress: &dyn Progress,
) -> Result<Collection, AwsError> {
    let sdk = sdk.clone();
    let sts = aws_sdk_sts::Client::new(&sdk);
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::Identity(util::error_message(&e)))?;
    let account = identity
        .account()
        .map(str::to_string)
        .ok_or_else(|| AwsError::Identity("no account id in the answer".into()))?;
    let partition = identity
        .arn()
        .and_then(|a| a.split(':').nth(1))
        .unwrap_or("aws")
        .to_string();
    let scan = Scan {
        account: account.clone(),
        partition,
        page_size: config.page_size,
        path_style: config.endpoint_url.is_some(),
        endpoint_url: config.endpoint_url.clone(),
        parts: Mutex::new(HashMap::new()),
        now: config.observed_at.unwrap_or_else(Utc::now),
        config: sdk,
        inner: Mutex::new(SinkInner::default()),
    };

    // Regions: as given, or every enabled region.
    let discovery = Ctx::new(&scan, "ec2", "global");
    let enabled = ec2::enabled_regions(&discovery).await;
    let regions: Vec<String> = match &config.regions {
        Some(r) if !r.is_empty() => r.clone(),
        _ => match &enabled {
            Some(list) if !list.is_empty() => list.iter().map(|(r, _)| r.clone()).collect(),
            _ => vec![region_for_calls(&scan, "global")],
        },
    };
    let opt_in: HashMap<String, String> = enabled.unwrap_or_default().into_iter().collect();

    let mut units: Vec<(String, String)> = GLOBAL_SERVICES
        .iter()
        .map(|s| (s.to_string(), "global".to_string()))
        .collect();
    for r in &regions {
        for s in REGIONAL_SERVICES {
            units.push((s.to_string(), r.clone()));
        }
    }
    progress.plan(&units);

    let scan_ref = &scan;
    let global = futures_util::stream::iter(GLOBAL_SERVICES.iter().copied())
        .map(|service| async move {
            progress.started(service, "global");
            let ctx = Ctx::new(scan_ref, service, "global");
            match service {
                "iam" => iam::collect(&ctx).await,
                "s3" => s3::collect(&ctx).await,
                "organizations" => organizations::collect(&ctx).await,
                _ => account::collect(&ctx).await,
            }
            let (a, e) = ctx.counts();
            progress.finished(service, "global", a, e);
        })
        .buffer_unordered(GLOBAL_SERVICES.len())
        .collect::<Vec<()>>();
    let service_concurrency = config.service_concurrency.unwrap_or(4).max(1);
    let regional = futures_util::stream::iter(regions.iter().cloned())
        .map(|region| async move {
            futures_util::stream::iter(REGIONAL_SERVICES.iter().copied())
                .map(|service| {
                    let region = region.clone();
                    async move {
                        progress.started(service, &region);
                        let ctx = Ctx::new(scan_ref, service, &region);
                        match service {
                            "ec2" => ec2::collect(&ctx).await,
                            "kms" => services::kms(&ctx).await,
                            "cloudtrail" => logging::cloudtrail(&ctx).await,
                            "rds" => {
                                futures_util::join!(services::rds(&ctx), rds::collect(&ctx));
                            }
                            "efs" => services::efs(&ctx).await,
                            "config" => services::config_recorders(&ctx).await,
                            "access-analyzer" => services::access_analyzer(&ctx).await,
                            "lambda" => lambda::collect(&ctx).await,
                            "elasticloadbalancing" => elbv2::collect(&ctx).await,
                            "acm" => acm::collect(&ctx).await,
                            "secretsmanager" => secrets::collect(&ctx).await,
                            "eks" => eks::collect(&ctx).await,
                            "ecr" => ecr::collect(&ctx).await,
                            "dynamodb" => dynamodb::collect(&ctx).await,
                            "sqs" => sqs::collect(&ctx).await,
                            "guardduty" => guardduty::collect(&ctx).await,
                            "logs" => monitoring::logs(&ctx).await,
                            "cloudwatch" => monitoring::cloudwatch(&ctx).await,
                            "sns" => monitoring::sns(&ctx).await,
                            _ => services::security_hub(&ctx).await,
                        }
                        let (a, e) = ctx.counts();
                        progress.finished(service, &region, a, e);
                    }
                })
                .buffer_unordered(service_concurrency)
                .collect::<Vec<()>>()
                .await;
        })
        .buffer_unordered(config.region_concurrency.unwrap_or(4).max(1))
        .collect::<Vec<()>>();
    futures_util::future::join(global, regional).await;

    // Edges between assets of different units, then the account-wide assets that summarise
    // others (trails, metric filters) come last.
    monitoring::link(&scan);
    let account_ctx = Ctx::new(&scan, "account", "global");
    logging::account_asset(&account_ctx);
    account::region_assets(&scan, &regions, &opt_in);
    derive(&scan);

    let inner = match scan.inner.into_inner() {
        Ok(i) => i,
        Err(p) => p.into_inner(),
    };
    // instance → instance profile → role also reads instance → role (`uses`).
    let mut profile_roles: HashMap<String, Vec<String>> = HashMap::new();
    for a in &inner.assets {
        if a.resource_type.as_str() == "aws.iam.instance_profile" {
            let roles = a
                .config
                .get("roles")
                .and_then(Value::as_array)
                .map(|rs| {
                    rs.iter()
                        .filter_map(|r| r.get("arn").and_then(Value::as_str).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            profile_roles.insert(a.native_id.clone(), roles);
        }
    }
    let mut edges = inner.edges.clone();
    for (from, to, kind) in &inner.edges {
        if from.resource_type == "aws.ec2.instance"
            && to.resource_type == "aws.iam.instance_profile"
        {
            for role in profile_roles.get(&to.native_id).into_iter().flatten() {
                edges.push((from.clone(), key("aws.iam.role", role.clone()), kind));
            }
        }
    }
    let mut relationships: Vec<Relationship> = edges
        .iter()
        .filter_map(|(from, to, kind)| {
            let f = inner
                .index
                .get(&(from.resource_type.to_string(), from.native_id.clone()))?;
            let t = inner
                .index
                .get(&(to.resource_type.to_string(), to.native_id.clone()))?;
            Some(Relationship {
                from: f.clone(),
                to: t.clone(),
                kind: (*kind).to_string(),
            })
        })
        .collect();
    relationships.sort();
    relationships.dedup();
    let mut assets = inner.assets;
    assets.sort_by(|a, b| a.id.cmp(&b.id));
    assets.dedup_by(|a, b| a.id == b.id);
    let mut errors = inner.errors;
    errors.sort_by(|a, b| {
        (&a.service, &a.region, &a.operation).cmp(&(&b.service, &b.region, &b.operation))
    });
    Ok(Collection {
        inventory: Inventory {
            assets,
            relationships,
        },
        sweeps: sweeps(&account, &units, &errors),
        errors,
        accounts: vec![account.clone()],
        account_id: account,
        regions,
    })
}

/// The asset types each collection unit (service) lists, so that a unit that ran without a
/// failed listing vouches that no other asset of these types exists in its account and region
/// (any region for the global units). Types read only as references by a unit (an instance's
/// security groups read by EKS) are not listed under it; account-wide summaries
/// (`aws.account`, `aws.account.region`) are never swept.
pub const UNIT_TYPES: &[(&str, &[&str])] = &[
    (
        "iam",
        &[
            "aws.iam.user",
            "aws.iam.group",
            "aws.iam.role",
            "aws.iam.policy",
            "aws.iam.instance_profile",
            "aws.iam.oidc_provider",
            "aws.iam.saml_provider",
            "aws.iam.server_certificate",
        ],
    ),
    ("s3", &["aws.s3.bucket"]),
    (
        "organizations",
        &["aws.organizations.account", "aws.organizations.policy"],
    ),
    (
        "ec2",
        &[
            "aws.ec2.instance",
            "aws.ec2.security_group",
            "aws.ec2.network_acl",
            "aws.ec2.vpc",
            "aws.ec2.subnet",
            "aws.ec2.route_table",
            "aws.ec2.internet_gateway",
            "aws.ec2.nat_gateway",
            "aws.ec2.volume",
            "aws.ec2.snapshot",
            "aws.ec2.image",
            "aws.ec2.network_interface",
            "aws.ec2.eip",
            "aws.ec2.vpc_endpoint",
            "aws.ec2.vpc_peering_connection",
        ],
    ),
    ("kms", &["aws.kms.key"]),
    ("cloudtrail", &["aws.cloudtrail.trail"]),
    (
        "rds",
        &[
            "aws.rds.db_instance",
            "aws.rds.db_cluster",
            "aws.rds.db_snapshot",
            "aws.rds.db_cluster_snapshot",
        ],
    ),
    ("efs", &["aws.efs.file_system"]),
    ("lambda", &["aws.lambda.function"]),
    (
        "elasticloadbalancing",
        &["aws.elbv2.load_balancer", "aws.elbv2.listener"],
    ),
    ("acm", &["aws.acm.certificate"]),
    ("secretsmanager", &["aws.secretsmanager.secret"]),
    ("eks", &["aws.eks.cluster"]),
    ("ecr", &["aws.ecr.repository"]),
    ("dynamodb", &["aws.dynamodb.table"]),
    ("sqs", &["aws.sqs.queue"]),
    ("guardduty", &["aws.guardduty.detector"]),
    ("logs", &["aws.logs.log_group", "aws.logs.metric_filter"]),
    ("cloudwatch", &["aws.cloudwatch.alarm"]),
    ("sns", &["aws.sns.topic", "aws.sns.subscription"]),
];

/// Calls whose failure leaves a field of an asset unknown but never leaves an asset out: they
/// do not stop their unit from vouching for its listing. Any other failed call in a unit does.
pub const FIELD_ONLY_CALLS: &[(&str, &str)] = &[
    ("ec2", "GetEbsEncryptionByDefault"),
    ("ec2", "GetEbsDefaultKmsKeyId"),
    ("lambda", "GetPolicy"),
    ("lambda", "ListFunctionUrlConfigs"),
];

/// The sweeps of one account's collection: for every unit that ran with no failed call (other
/// than [`FIELD_ONLY_CALLS`]), each of its [`UNIT_TYPES`] in its region (any region for a
/// global unit, whose assets carry their own region, such as a bucket's).
fn sweeps(account: &str, units: &[(String, String)], errors: &[CollectionError]) -> Vec<Sweep> {
    let mut out = Vec::new();
    for (service, region) in units {
        let failed = errors.iter().any(|e| {
            e.account == account
                && &e.service == service
                && &e.region == region
                && !FIELD_ONLY_CALLS.contains(&(e.service.as_str(), e.operation.as_str()))
        });
        if failed {
            continue;
        }
        let types = UNIT_TYPES
            .iter()
            .find(|(s, _)| s == service)
            .map(|(_, t)| *t)
            .unwrap_or_default();
        for ty in types {
            out.push(Sweep {
                provider: Provider::Aws,
                account: account.to_string(),
                region: (region != "global").then(|| region.clone()),
                resource_type: (*ty).to_string(),
            });
        }
    }
    out.sort();
    out
}

/// Derived fields (docs/asset-types.md, **derived**): a trail's `s3BucketLogging` is the
/// `logging` of its bucket; a bucket's `accountPublicAccessBlock` is the account's setting and
/// its `cloudTrailTrails` the ARNs of the trails delivering to it.
fn derive(scan: &Scan) {
    let mut inner = scan.lock();
    let mut bucket_logging: HashMap<String, Value> = HashMap::new();
    let mut account_pab: Option<Value> = None;
    let mut trails_of: HashMap<String, Vec<String>> = HashMap::new();
    for a in &inner.assets {
        match a.resource_type.as_str() {
            "aws.cloudtrail.trail" => {
                if let Some(bucket) = a.config.get("s3BucketName").and_then(Value::as_str) {
                    let arn = a
                        .config
                        .get("trailARN")
                        .and_then(Value::as_str)
                        .unwrap_or(&a.native_id)
                        .to_string();
                    let list = trails_of.entry(bucket.to_string()).or_default();
                    if !list.contains(&arn) {
                        list.push(arn);
                    }
                }
            }
            "aws.s3.bucket" => {
                if let (Some(name), Some(l)) = (
                    a.config.get("name").and_then(Value::as_str),
                    a.config.get("logging"),
                ) {
                    bucket_logging.insert(name.to_string(), l.clone());
                }
            }
            "aws.account" => account_pab = a.config.get("s3PublicAccessBlock").cloned(),
            _ => {}
        }
    }
    for a in inner.assets.iter_mut() {
        let Value::Object(cfg) = &mut a.config else {
            continue;
        };
        match a.resource_type.as_str() {
            "aws.cloudtrail.trail" => {
                let logging = cfg
                    .get("s3BucketName")
                    .and_then(Value::as_str)
                    .and_then(|b| bucket_logging.get(b))
                    .cloned();
                if let Some(l) = logging {
                    cfg.insert("s3BucketLogging".into(), l);
                }
            }
            "aws.s3.bucket" => {
                if let Some(p) = &account_pab {
                    cfg.insert("accountPublicAccessBlock".into(), p.clone());
                }
                let trails = cfg
                    .get("name")
                    .and_then(Value::as_str)
                    .and_then(|b| trails_of.get(b));
                if let Some(t) = trails {
                    let mut t = t.clone();
                    t.sort();
                    cfg.insert("cloudTrailTrails".into(), json!(t));
                }
            }
            _ => {}
        }
    }
}

/// Builds a JSON object from `(key, value)` pairs, leaving out `None`/null values.
pub(crate) fn obj<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut m = Map::new();
    for (k, v) in fields {
        if !v.is_null() {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn err(service: &str, region: &str, operation: &str) -> CollectionError {
        CollectionError {
            account: "111111111111".into(),
            service: service.into(),
            region: region.into(),
            operation: operation.into(),
            message: "AccessDenied".into(),
        }
    }

    fn units() -> Vec<(String, String)> {
        let mut u: Vec<(String, String)> = GLOBAL_SERVICES
            .iter()
            .map(|s| (s.to_string(), "global".to_string()))
            .collect();
        for s in REGIONAL_SERVICES {
            u.push((s.to_string(), "eu-west-1".into()));
        }
        u
    }

    fn swept(sweeps: &[Sweep], ty: &str, region: Option<&str>) -> bool {
        sweeps
            .iter()
            .any(|s| s.resource_type == ty && s.region.as_deref() == region)
    }

    #[test]
    fn every_collected_service_declares_its_types() {
        for service in GLOBAL_SERVICES.iter().chain(REGIONAL_SERVICES) {
            let declared = UNIT_TYPES.iter().any(|(s, _)| s == service);
            // These only fill the account-wide summaries, which are never swept.
            let summary_only = ["account", "config", "access-analyzer", "securityhub"];
            assert_eq!(
                declared,
                !summary_only.contains(service),
                "{service}: declare the asset types it lists in UNIT_TYPES"
            );
        }
        for (service, types) in UNIT_TYPES {
            for ty in *types {
                ResourceType::parse(ty).unwrap();
                assert!(ty.starts_with("aws."), "{service}: {ty}");
            }
        }
    }

    #[test]
    fn a_failed_listing_withholds_only_its_units_sweep() {
        let all = sweeps("111111111111", &units(), &[]);
        assert!(swept(&all, "aws.ec2.volume", Some("eu-west-1")));
        assert!(swept(&all, "aws.s3.bucket", None), "buckets in any region");
        assert!(swept(&all, "aws.iam.user", None));
        assert!(
            !all.iter()
                .any(|s| s.resource_type.starts_with("aws.account"))
        );

        let some = sweeps(
            "111111111111",
            &units(),
            &[
                err("ec2", "eu-west-1", "DescribeVolumes"),
                err("s3", "global", "ListBuckets"),
            ],
        );
        assert!(!swept(&some, "aws.ec2.volume", Some("eu-west-1")));
        assert!(!swept(&some, "aws.ec2.instance", Some("eu-west-1")));
        assert!(!swept(&some, "aws.s3.bucket", None));
        assert!(swept(&some, "aws.sqs.queue", Some("eu-west-1")));
        assert!(swept(&some, "aws.iam.user", None));
        assert_eq!(all.len() - some.len(), 15 + 1, "ec2's and s3's types only");
    }

    #[test]
    fn field_only_failures_and_other_accounts_do_not_withhold_a_sweep() {
        let mut other = err("sqs", "eu-west-1", "ListQueues");
        other.account = "222222222222".into();
        let s = sweeps(
            "111111111111",
            &units(),
            &[
                err("ec2", "eu-west-1", "GetEbsDefaultKmsKeyId"),
                err("lambda", "eu-west-1", "ListFunctionUrlConfigs"),
                other,
            ],
        );
        assert!(swept(&s, "aws.ec2.volume", Some("eu-west-1")));
        assert!(swept(&s, "aws.lambda.function", Some("eu-west-1")));
        assert!(swept(&s, "aws.sqs.queue", Some("eu-west-1")));
        assert!(s.iter().all(|w| w.account == "111111111111"));
    }
}
