//! CloudWatch Logs (log groups, metric filters), CloudWatch metric alarms and SNS topics and
//! subscriptions, per region, as assets with edges:
//!
//! trail → log group (`delivers_to`, logging.rs), metric filter → log group (`filters`),
//! alarm → metric filter (`watches`, by metric name and namespace, [`link`]), alarm → topic
//! (`notifies`), subscription → topic (`subscribes_to`), log group / topic → KMS key
//! (`encrypted_by`).

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::services::kms_key_ref;
use crate::util::{b, e, s, strs, ts};
use crate::{Ctx, Scan, key, obj};

/// The listings whose failure makes the monitoring chain incomplete (`aws.account`
/// `monitoringCollected` is then absent): (service, operation).
pub const CHAIN_LISTINGS: &[(&str, &str)] = &[
    ("cloudtrail", "DescribeTrails"),
    ("logs", "DescribeLogGroups"),
    ("logs", "DescribeMetricFilters"),
    ("cloudwatch", "DescribeAlarms"),
    ("sns", "ListTopics"),
    ("sns", "ListSubscriptions"),
];

/// `arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME` (without the `:*` suffix of
/// `DescribeLogGroups`' `arn`).
pub fn log_group_arn(ctx: &Ctx<'_>, region: &str, name: &str) -> String {
    format!(
        "arn:{}:logs:{region}:{}:log-group:{name}",
        ctx.scan.partition, ctx.scan.account
    )
}

/// Native id of a metric filter (metric filters have no ARN of their own).
fn metric_filter_id(group_arn: &str, filter: &str) -> String {
    format!("{group_arn}:metric-filter:{filter}")
}

/// Milliseconds since the epoch (CloudWatch Logs' timestamps) as RFC 3339.
fn millis(v: Option<i64>) -> Value {
    v.and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis)
        .map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

pub async fn logs(ctx: &Ctx<'_>) {
    let client = aws_sdk_cloudwatchlogs::Client::new(&ctx.config);
    let mut groups = client.describe_log_groups().into_paginator();
    let mut filters = client.describe_metric_filters().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        groups = groups.page_size(n);
        filters = filters.page_size(n);
    }
    let (groups, filters) = futures_util::join!(
        groups.items().send().try_collect(),
        filters.items().send().try_collect(),
    );
    if let Some(groups) = ctx.ok("DescribeLogGroups", groups) {
        for g in groups {
            let Some(name) = g.log_group_name() else {
                continue;
            };
            let arn = log_group_arn(ctx, &ctx.region, name);
            let config = obj([
                ("logGroupName", json!(name)),
                ("arn", json!(arn)),
                ("creationTime", millis(g.creation_time())),
                ("retentionInDays", crate::util::i(g.retention_in_days())),
                ("kmsKeyId", s(g.kms_key_id())),
                (
                    "storedBytes",
                    g.stored_bytes().map(Value::from).unwrap_or_default(),
                ),
                ("metricFilterCount", crate::util::i(g.metric_filter_count())),
                ("logGroupClass", e(g.log_group_class())),
                ("dataProtectionStatus", e(g.data_protection_status())),
                (
                    "deletionProtectionEnabled",
                    b(g.deletion_protection_enabled()),
                ),
            ]);
            let k = ctx.asset("aws.logs.log_group", &arn, name, Vec::new(), config);
            if let Some(kms) = g.kms_key_id() {
                ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
            }
        }
    }
    let Some(filters) = ctx.ok("DescribeMetricFilters", filters) else {
        return;
    };
    for f in filters {
        let (Some(group), Some(name)) = (f.log_group_name(), f.filter_name()) else {
            continue;
        };
        let group_arn = log_group_arn(ctx, &ctx.region, group);
        let id = metric_filter_id(&group_arn, name);
        let transformations: Vec<Value> = f
            .metric_transformations()
            .iter()
            .map(|mt| {
                obj([
                    ("metricName", json!(mt.metric_name())),
                    ("metricNamespace", json!(mt.metric_namespace())),
                    ("metricValue", json!(mt.metric_value())),
                    (
                        "defaultValue",
                        mt.default_value().map(Value::from).unwrap_or_default(),
                    ),
                    ("unit", e(mt.unit())),
                ])
            })
            .collect();
        let config = obj([
            ("filterName", json!(name)),
            ("logGroupName", json!(group)),
            ("filterPattern", json!(f.filter_pattern().unwrap_or(""))),
            ("metricTransformations", Value::Array(transformations)),
            ("creationTime", millis(f.creation_time())),
        ]);
        let k = ctx.asset("aws.logs.metric_filter", &id, name, Vec::new(), config);
        ctx.edge(&k, key("aws.logs.log_group", group_arn), "filters");
    }
}

pub async fn cloudwatch(ctx: &Ctx<'_>) {
    let client = aws_sdk_cloudwatch::Client::new(&ctx.config);
    let mut alarms = client.describe_alarms().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        alarms = alarms.page_size(n);
    }
    // Pages carry metric and composite alarms side by side; the metric ones are collected.
    let Some(pages) = ctx.ok("DescribeAlarms", alarms.send().try_collect().await) else {
        return;
    };
    for a in pages.iter().flat_map(|p| p.metric_alarms()) {
        let Some(name) = a.alarm_name() else {
            continue;
        };
        let arn = a
            .alarm_arn()
            .map(str::to_string)
            .unwrap_or_else(|| ctx.arn("cloudwatch", &format!("alarm:{name}")));
        let metrics: Vec<Value> = a
            .metrics()
            .iter()
            .map(|q| {
                let m = q.metric_stat().and_then(|st| st.metric());
                obj([
                    ("id", s(q.id())),
                    ("expression", s(q.expression())),
                    ("metricName", s(m.and_then(|m| m.metric_name()))),
                    ("namespace", s(m.and_then(|m| m.namespace()))),
                ])
            })
            .collect();
        let config = obj([
            ("alarmName", json!(name)),
            ("alarmArn", json!(arn)),
            ("alarmDescription", s(a.alarm_description())),
            ("metricName", s(a.metric_name())),
            ("namespace", s(a.namespace())),
            ("statistic", e(a.statistic())),
            ("period", crate::util::i(a.period())),
            ("evaluationPeriods", crate::util::i(a.evaluation_periods())),
            (
                "threshold",
                a.threshold().map(Value::from).unwrap_or_default(),
            ),
            ("comparisonOperator", e(a.comparison_operator())),
            ("actionsEnabled", b(a.actions_enabled())),
            ("alarmActions", strs(a.alarm_actions())),
            ("okActions", strs(a.ok_actions())),
            (
                "insufficientDataActions",
                strs(a.insufficient_data_actions()),
            ),
            ("stateValue", e(a.state_value())),
            ("stateUpdatedTimestamp", ts(a.state_updated_timestamp())),
            (
                "metrics",
                if metrics.is_empty() {
                    Value::Null
                } else {
                    Value::Array(metrics)
                },
            ),
        ]);
        let k = ctx.asset("aws.cloudwatch.alarm", &arn, name, Vec::new(), config);
        for action in a.alarm_actions() {
            if action.split(':').nth(2) == Some("sns") {
                ctx.edge(&k, key("aws.sns.topic", action.clone()), "notifies");
            }
        }
    }
}

pub async fn sns(ctx: &Ctx<'_>) {
    let client = aws_sdk_sns::Client::new(&ctx.config);
    let (topics, subscriptions) = futures_util::join!(
        client
            .list_topics()
            .into_paginator()
            .items()
            .send()
            .try_collect(),
        client
            .list_subscriptions()
            .into_paginator()
            .items()
            .send()
            .try_collect(),
    );
    if let Some(topics) = ctx.ok("ListTopics", topics) {
        use futures_util::StreamExt;
        futures_util::stream::iter(topics)
            .map(|t| {
                let client = client.clone();
                async move {
                    let Some(arn) = t.topic_arn().map(str::to_string) else {
                        return;
                    };
                    let attrs = ctx
                        .ok(
                            "GetTopicAttributes",
                            client.get_topic_attributes().topic_arn(&arn).send().await,
                        )
                        .and_then(|r| r.attributes().cloned())
                        .unwrap_or_default();
                    topic(ctx, &arn, &attrs);
                }
            })
            .buffer_unordered(8)
            .collect::<Vec<()>>()
            .await;
    }
    let Some(subscriptions) = ctx.ok("ListSubscriptions", subscriptions) else {
        return;
    };
    for sub in subscriptions {
        let Some(topic_arn) = sub.topic_arn() else {
            continue;
        };
        let protocol = sub.protocol().unwrap_or("");
        let endpoint = redact_endpoint(protocol, sub.endpoint());
        // A pending subscription's ARN is the text `PendingConfirmation` (or `Deleted`).
        let confirmed = sub
            .subscription_arn()
            .is_some_and(|a| a.starts_with("arn:"));
        let native = match sub.subscription_arn() {
            Some(a) if confirmed => a.to_string(),
            other => format!(
                "{topic_arn}:{}:{:016x}",
                other.unwrap_or("PendingConfirmation"),
                fnv1a(&format!("{protocol}\n{}", sub.endpoint().unwrap_or("")))
            ),
        };
        let name = match &endpoint {
            Some(ep) => format!("{protocol}:{ep}"),
            None => protocol.to_string(),
        };
        let config = obj([
            (
                "subscriptionArn",
                if confirmed {
                    s(sub.subscription_arn())
                } else {
                    Value::Null
                },
            ),
            ("topicArn", json!(topic_arn)),
            ("protocol", json!(protocol)),
            ("endpoint", endpoint.map(Value::String).unwrap_or_default()),
            ("owner", s(sub.owner())),
            ("confirmed", json!(confirmed)),
            (
                "pendingConfirmation",
                json!(sub.subscription_arn() == Some("PendingConfirmation")),
            ),
        ]);
        let k = ctx.asset("aws.sns.subscription", &native, &name, Vec::new(), config);
        ctx.edge(&k, key("aws.sns.topic", topic_arn), "subscribes_to");
    }
}

fn topic(ctx: &Ctx<'_>, arn: &str, attrs: &HashMap<String, String>) {
    let get = |k: &str| attrs.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let int = |k: &str| {
        get(k)
            .and_then(|v| v.parse::<i64>().ok())
            .map(Value::from)
            .unwrap_or_default()
    };
    let config = obj([
        ("topicArn", json!(arn)),
        ("displayName", s(get("DisplayName"))),
        ("owner", s(get("Owner"))),
        ("kmsMasterKeyId", s(get("KmsMasterKeyId"))),
        ("policy", crate::util::document(get("Policy"))),
        ("subscriptionsConfirmed", int("SubscriptionsConfirmed")),
        ("subscriptionsPending", int("SubscriptionsPending")),
        ("subscriptionsDeleted", int("SubscriptionsDeleted")),
        (
            "fifoTopic",
            get("FifoTopic")
                .map(|v| json!(v == "true"))
                .unwrap_or_default(),
        ),
    ]);
    let name = arn.rsplit(':').next().unwrap_or(arn).to_string();
    let k = ctx.asset("aws.sns.topic", arn, &name, Vec::new(), config);
    if let Some(kms) = get("KmsMasterKeyId") {
        ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
    }
}

/// What of a subscription endpoint is kept: the domain of an e-mail address (`*@example.com`),
/// the scheme and host of a URL (paths and query strings may carry tokens), the ARN of an AWS
/// endpoint (queue, function, stream, application); nothing of a phone number.
pub fn redact_endpoint(protocol: &str, endpoint: Option<&str>) -> Option<String> {
    let ep = endpoint?;
    match protocol {
        "email" | "email-json" => Some(match ep.rsplit_once('@') {
            Some((_, domain)) => format!("*@{domain}"),
            None => "*".to_string(),
        }),
        "http" | "https" => {
            let (scheme, rest) = ep.split_once("://")?;
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            Some(format!("{scheme}://{host}"))
        }
        "sqs" | "lambda" | "firehose" | "application" if ep.starts_with("arn:") => {
            Some(ep.to_string())
        }
        _ => None,
    }
}

/// FNV-1a, 64 bits: a stable digest for the ids of pending subscriptions (which have no ARN),
/// so that the endpoint itself never appears in the id.
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Metrics an alarm evaluates: its own (metric name, namespace) and those of its metric-math
/// queries.
fn alarm_metrics(config: &Value) -> Vec<(String, String)> {
    let pair = |v: &Value, name: &str, ns: &str| {
        Some((
            v.get(name)?.as_str()?.to_string(),
            v.get(ns)?.as_str()?.to_string(),
        ))
    };
    let mut out: Vec<(String, String)> = pair(config, "metricName", "namespace")
        .into_iter()
        .collect();
    if let Some(qs) = config.get("metrics").and_then(Value::as_array) {
        out.extend(qs.iter().filter_map(|q| pair(q, "metricName", "namespace")));
    }
    out
}

/// Metrics a filter publishes: (metric name, namespace).
fn filter_metrics(config: &Value) -> Vec<(String, String)> {
    config
        .get("metricTransformations")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .filter_map(|t| {
                    Some((
                        t.get("metricName")?.as_str()?.to_string(),
                        t.get("metricNamespace")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Alarm → metric filter (`watches`): an alarm on a metric watches every filter of the same
/// region that publishes that metric (name and namespace).
pub fn link(scan: &Scan) {
    let mut inner = scan.lock();
    let mut publishers: HashMap<(String, String, String), Vec<String>> = HashMap::new();
    for a in &inner.assets {
        if a.resource_type.as_str() == "aws.logs.metric_filter" {
            for (name, ns) in filter_metrics(&a.config) {
                publishers
                    .entry((a.region.clone(), name, ns))
                    .or_default()
                    .push(a.native_id.clone());
            }
        }
    }
    let mut edges = Vec::new();
    for a in &inner.assets {
        if a.resource_type.as_str() != "aws.cloudwatch.alarm" {
            continue;
        }
        for (name, ns) in alarm_metrics(&a.config) {
            for filter in publishers
                .get(&(a.region.clone(), name, ns))
                .into_iter()
                .flatten()
            {
                edges.push((
                    key("aws.cloudwatch.alarm", a.native_id.clone()),
                    key("aws.logs.metric_filter", filter.clone()),
                    "watches",
                ));
            }
        }
    }
    inner.edges.extend(edges);
}

/// `aws.account.metricFilters` (kept for controls written against it): the metric filters of
/// the log groups in `groups` ((region, log group name)), each with the alarms on its metrics
/// and their confirmed SNS subscriptions, from the collected assets. `None` when the metric
/// filters of one of those regions could not be listed; a filter's `alarms` is absent when the
/// region's alarms could not be listed.
pub fn metric_filters_of(scan: &Scan, groups: &[(String, String)]) -> Option<Value> {
    let inner = scan.lock();
    let failed = |service: &str, operation: &str, region: &str| {
        inner
            .errors
            .iter()
            .any(|e| e.service == service && e.operation == operation && e.region == region)
    };
    if groups
        .iter()
        .any(|(r, _)| failed("logs", "DescribeMetricFilters", r))
    {
        return None;
    }
    let mut confirmed: HashMap<&str, usize> = HashMap::new();
    for a in &inner.assets {
        if a.resource_type.as_str() == "aws.sns.subscription"
            && a.config.get("confirmed") == Some(&json!(true))
            && let Some(t) = a.config.get("topicArn").and_then(Value::as_str)
        {
            *confirmed.entry(t).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    for (region, group) in groups {
        let alarms_listed = !failed("cloudwatch", "DescribeAlarms", region);
        for f in inner.assets.iter().filter(|a| {
            a.resource_type.as_str() == "aws.logs.metric_filter"
                && &a.region == region
                && a.config.get("logGroupName").and_then(Value::as_str) == Some(group.as_str())
        }) {
            let metrics = filter_metrics(&f.config);
            let alarms: Vec<Value> = inner
                .assets
                .iter()
                .filter(|a| {
                    a.resource_type.as_str() == "aws.cloudwatch.alarm"
                        && &a.region == region
                        && alarm_metrics(&a.config).iter().any(|m| metrics.contains(m))
                })
                .map(|a| {
                    let actions: Vec<&str> = a
                        .config
                        .get("alarmActions")
                        .and_then(Value::as_array)
                        .map(|l| l.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let subs: usize = actions
                        .iter()
                        .filter(|x| x.contains(":sns:"))
                        .map(|t| confirmed.get(t).copied().unwrap_or(0))
                        .sum();
                    obj([
                        (
                            "alarmName",
                            a.config.get("alarmName").cloned().unwrap_or_default(),
                        ),
                        (
                            "stateValue",
                            a.config.get("stateValue").cloned().unwrap_or_default(),
                        ),
                        ("actions", json!(actions)),
                        ("snsSubscriptions", json!(subs)),
                    ])
                })
                .collect();
            out.push(obj([
                ("logGroupName", json!(group)),
                (
                    "filterName",
                    f.config.get("filterName").cloned().unwrap_or_default(),
                ),
                (
                    "filterPattern",
                    f.config.get("filterPattern").cloned().unwrap_or_default(),
                ),
                (
                    "metricTransformations",
                    Value::Array(
                        metrics
                            .iter()
                            .map(|(n, ns)| json!({"metricName": n, "metricNamespace": ns}))
                            .collect(),
                    ),
                ),
                (
                    "alarms",
                    if alarms_listed {
                        Value::Array(alarms)
                    } else {
                        Value::Null
                    },
                ),
            ]));
        }
    }
    Some(Value::Array(out))
}

/// True when every listing of the monitoring chain succeeded in every region.
pub fn chain_complete(scan: &Scan) -> bool {
    let inner = scan.lock();
    !inner.errors.iter().any(|e| {
        CHAIN_LISTINGS
            .iter()
            .any(|(s, o)| e.service == *s && e.operation == *o)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_redacted() {
        assert_eq!(
            redact_endpoint("email", Some("alice@example.com")).as_deref(),
            Some("*@example.com")
        );
        assert_eq!(
            redact_endpoint(
                "https",
                Some("https://user:pw@hooks.example.com:8443/x?token=s")
            ),
            Some("https://hooks.example.com:8443".into())
        );
        assert_eq!(redact_endpoint("sms", Some("+15555550100")), None);
        assert_eq!(
            redact_endpoint("sqs", Some("arn:aws:sqs:us-east-1:1:q")).as_deref(),
            Some("arn:aws:sqs:us-east-1:1:q")
        );
        assert_ne!(fnv1a("a"), fnv1a("b"));
    }
}
