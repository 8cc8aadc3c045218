//! CloudTrail trails (per home region) and the account-wide `aws.account` asset: trails,
//! metric filters with their alarms and SNS subscriptions.

use std::collections::HashMap;

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

/// Builds `aws.account` from the collected trails and the account parts, calling CloudWatch
/// Logs, CloudWatch and SNS for the metric filters of every multi-region, logging trail.
pub async fn account_asset(ctx: &Ctx<'_>, regions: &[String]) {
    let _ = regions;
    let trails: Vec<Value> = {
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
                Value::Object(m)
            })
            .collect()
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
    let mut metric_filters = Vec::new();
    for (region, group) in groups {
        metric_filters.extend(filters_of(ctx, &region, &group).await);
    }
    let mut config = ctx.scan.take_parts("account");
    config.insert("accountId".into(), json!(ctx.account()));
    config.insert("trails".into(), Value::Array(trails));
    config.insert("metricFilters".into(), Value::Array(metric_filters));
    let account = ctx.account().to_string();
    let name = config
        .get("alias")
        .and_then(Value::as_str)
        .unwrap_or(&account)
        .to_string();
    ctx.asset_in(
        "global",
        "aws.account",
        &account,
        &name,
        Vec::new(),
        Value::Object(config),
    );
}

async fn filters_of(ctx: &Ctx<'_>, region: &str, group: &str) -> Vec<Value> {
    let logs_ctx = Ctx::new(ctx.scan, "logs", region);
    let cw_ctx = Ctx::new(ctx.scan, "cloudwatch", region);
    let sns_ctx = Ctx::new(ctx.scan, "sns", region);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&logs_ctx.config);
    let cw = aws_sdk_cloudwatch::Client::new(&cw_ctx.config);
    let sns = aws_sdk_sns::Client::new(&sns_ctx.config);
    let Some(filters) = logs_ctx.ok(
        "DescribeMetricFilters",
        logs.describe_metric_filters()
            .log_group_name(group)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return Vec::new();
    };
    let mut confirmed: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for f in filters {
        let mut transformations = Vec::new();
        let mut alarms = Vec::new();
        for mt in f.metric_transformations() {
            transformations.push(json!({
                "metricName": mt.metric_name(),
                "metricNamespace": mt.metric_namespace(),
            }));
            let Some(r) = cw_ctx.ok(
                "DescribeAlarmsForMetric",
                cw.describe_alarms_for_metric()
                    .metric_name(mt.metric_name())
                    .namespace(mt.metric_namespace())
                    .send()
                    .await,
            ) else {
                continue;
            };
            for a in r.metric_alarms() {
                let mut subs = 0usize;
                for topic in a.alarm_actions().iter().filter(|x| x.contains(":sns:")) {
                    if !confirmed.contains_key(topic) {
                        let n = sns_ctx
                            .ok(
                                "ListSubscriptionsByTopic",
                                sns.list_subscriptions_by_topic()
                                    .topic_arn(topic)
                                    .into_paginator()
                                    .items()
                                    .send()
                                    .try_collect()
                                    .await,
                            )
                            .map(|list| {
                                list.iter()
                                    .filter(|s| {
                                        s.subscription_arn().is_some_and(|a| a.starts_with("arn:"))
                                    })
                                    .count()
                            })
                            .unwrap_or(0);
                        confirmed.insert(topic.clone(), n);
                    }
                    subs += confirmed.get(topic).copied().unwrap_or(0);
                }
                alarms.push(obj([
                    ("alarmName", s(a.alarm_name())),
                    ("stateValue", e(a.state_value())),
                    ("actions", strs(a.alarm_actions())),
                    ("snsSubscriptions", json!(subs)),
                ]));
            }
        }
        out.push(obj([
            ("logGroupName", json!(group)),
            ("filterName", s(f.filter_name())),
            ("filterPattern", s(f.filter_pattern())),
            ("metricTransformations", Value::Array(transformations)),
            ("alarms", Value::Array(alarms)),
        ]));
    }
    out
}
