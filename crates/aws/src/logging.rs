//! CloudTrail trails (per home region) and the account-wide `aws.account` asset: trails,
//! metric filters with their alarms and SNS subscriptions.

use serde_json::{Map, Value, json};

use crate::util::{b, e, s, strs, ts};
use crate::{Ctx, key, obj};

pub async fn cloudtrail(ctx: &Ctx<'_>) {
    let client = aws_sdk_cloudtrail::Client::new(&ctx.config);
    let Some(r) = ctx.ok(
        "DescribeTrails",
        client
            .describe_trails()
            .include_shadow_trails(false)
            .send()
            .await,
    ) else {
        return;
    };
    for t in r.trail_list() {
        let Some(arn) = t.trail_arn().map(str::to_string) else {
            continue;
        };
        let home = t.home_region().unwrap_or(&ctx.region).to_string();
        if home != ctx.region {
            continue;
        }
        let (status, selectors) = futures_util::join!(
            client.get_trail_status().name(&arn).send(),
            client.get_event_selectors().trail_name(&arn).send(),
        );
        let status = ctx.ok("GetTrailStatus", status);
        let selectors = ctx.ok("GetEventSelectors", selectors);
        let (event_selectors, advanced) = match &selectors {
            Some(sel) => (
                Value::Array(
                    sel.event_selectors()
                        .iter()
                        .map(|es| {
                            obj([
                                ("readWriteType", e(es.read_write_type())),
                                ("includeManagementEvents", b(es.include_management_events())),
                                (
                                    "dataResources",
                                    Value::Array(
                                        es.data_resources()
                                            .iter()
                                            .map(|d| {
                                                obj([
                                                    ("type", s(d.r#type())),
                                                    ("values", strs(d.values())),
                                                ])
                                            })
                                            .collect(),
                                    ),
                                ),
                                (
                                    "excludeManagementEventSources",
                                    strs(es.exclude_management_event_sources()),
                                ),
                            ])
                        })
                        .collect(),
                ),
                Value::Array(
                    sel.advanced_event_selectors()
                        .iter()
                        .map(|a| {
                            obj([
                                ("name", s(a.name())),
                                (
                                    "fieldSelectors",
                                    Value::Array(
                                        a.field_selectors()
                                            .iter()
                                            .map(|f| {
                                                let opt = |v: &[String]| {
                                                    if v.is_empty() { Value::Null } else { strs(v) }
                                                };
                                                obj([
                                                    ("field", json!(f.field())),
                                                    ("equals", opt(f.equals())),
                                                    ("notEquals", opt(f.not_equals())),
                                                    ("startsWith", opt(f.starts_with())),
                                                    ("endsWith", opt(f.ends_with())),
                                                ])
                                            })
                                            .collect(),
                                    ),
                                ),
                            ])
                        })
                        .collect(),
                ),
            ),
            None => (Value::Null, Value::Null),
        };
        let name = t.name().unwrap_or(&arn).to_string();
        let config = obj([
            ("name", json!(name)),
            ("trailARN", json!(arn)),
            ("homeRegion", json!(home)),
            ("s3BucketName", s(t.s3_bucket_name())),
            ("s3KeyPrefix", s(t.s3_key_prefix())),
            ("snsTopicARN", s(t.sns_topic_arn())),
            ("isMultiRegionTrail", b(t.is_multi_region_trail())),
            (
                "includeGlobalServiceEvents",
                b(t.include_global_service_events()),
            ),
            ("isOrganizationTrail", b(t.is_organization_trail())),
            (
                "logFileValidationEnabled",
                b(t.log_file_validation_enabled()),
            ),
            ("kmsKeyId", s(t.kms_key_id())),
            (
                "cloudWatchLogsLogGroupArn",
                s(t.cloud_watch_logs_log_group_arn()),
            ),
            ("cloudWatchLogsRoleArn", s(t.cloud_watch_logs_role_arn())),
            (
                "isLogging",
                status
                    .as_ref()
                    .map(|st| json!(st.is_logging().unwrap_or(false)))
                    .unwrap_or(Value::Null),
            ),
            (
                "latestCloudWatchLogsDeliveryTime",
                ts(status
                    .as_ref()
                    .and_then(|st| st.latest_cloud_watch_logs_delivery_time())),
            ),
            (
                "latestDeliveryTime",
                ts(status.as_ref().and_then(|st| st.latest_delivery_time())),
            ),
            ("eventSelectors", event_selectors),
            ("advancedEventSelectors", advanced),
        ]);
        let k = ctx.asset("aws.cloudtrail.trail", &arn, &name, Vec::new(), config);
        if let Some(bucket) = t.s3_bucket_name() {
            ctx.edge(
                &k,
                key(
                    "aws.s3.bucket",
                    format!("arn:{}:s3:::{bucket}", ctx.scan.partition),
                ),
                "delivers_to",
            );
        }
        if let Some(kms) = t.kms_key_id() {
            ctx.edge(
                &k,
                crate::services::kms_key_ref(ctx, kms, &home),
                "encrypted_by",
            );
        }
        // arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*
        if let Some(group) = t.cloud_watch_logs_log_group_arn() {
            let base = group.strip_suffix(":*").unwrap_or(group);
            ctx.edge(&k, key("aws.logs.log_group", base), "delivers_to");
        }
    }
}

/// Fields of a trail copied into `aws.account.trails`.
const TRAIL_FIELDS: &[&str] = &[
    "name",
    "trailARN",
    "homeRegion",
    "isMultiRegionTrail",
    "isOrganizationTrail",
    "isLogging",
    "s3BucketName",
    "cloudWatchLogsLogGroupArn",
    "eventSelectors",
    "advancedEventSelectors",
];

/// Builds `aws.account` from the collected trails, metric filters, alarms and subscriptions
/// (no calls of its own), with an edge account → trail (`contains`) for each trail.
pub fn account_asset(ctx: &Ctx<'_>) {
    let (trails, trail_arns): (Vec<Value>, Vec<String>) = {
        let inner = ctx.scan.lock();
        inner
            .assets
            .iter()
            .filter(|a| a.resource_type.as_str() == "aws.cloudtrail.trail")
            .map(|a| {
                let mut m = Map::new();
                for f in TRAIL_FIELDS {
                    if let Some(v) = a.config.get(*f) {
                        m.insert((*f).to_string(), v.clone());
                    }
                }
                (Value::Object(m), a.native_id.clone())
            })
            .unzip()
    };
    let mut groups: Vec<(String, String)> = Vec::new();
    for t in &trails {
        let qualifies = t.get("isMultiRegionTrail") == Some(&json!(true))
            && t.get("isLogging") == Some(&json!(true));
        let Some(arn) = t.get("cloudWatchLogsLogGroupArn").and_then(Value::as_str) else {
            continue;
        };
        // arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]
        let parts: Vec<&str> = arn.split(':').collect();
        if qualifies && parts.len() >= 7 {
            let pair = (parts[3].to_string(), parts[6].to_string());
            if !groups.contains(&pair) {
                groups.push(pair);
            }
        }
    }
    let metric_filters = crate::monitoring::metric_filters_of(ctx.scan, &groups);
    let mut config = ctx.scan.take_parts("account");
    config.insert("accountId".into(), json!(ctx.account()));
    config.insert("trails".into(), Value::Array(trails));
    if let Some(mf) = metric_filters {
        config.insert("metricFilters".into(), mf);
    }
    if crate::monitoring::chain_complete(ctx.scan) {
        config.insert("monitoringCollected".into(), json!(true));
    }
    let account = ctx.account().to_string();
    let name = config
        .get("alias")
        .and_then(Value::as_str)
        .unwrap_or(&account)
        .to_string();
    let k = ctx.asset_in(
        "global",
        "aws.account",
        &account,
        &name,
        Vec::new(),
        Value::Object(config),
    );
    for arn in trail_arns {
        ctx.edge(&k, key("aws.cloudtrail.trail", arn), "contains");
    }
}
