//! Amazon GuardDuty detectors (per region), and the region's `guardDuty` summary.

use serde_json::{Value, json};

use crate::util::{e, s};
use crate::{Ctx, obj};

pub async fn collect(ctx: &Ctx<'_>) {
    let client = aws_sdk_guardduty::Client::new(&ctx.config);
    let Some(ids) = ctx.ok(
        "ListDetectors",
        client
            .list_detectors()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    // The region's summary: the first enabled detector, else the first one, else DISABLED.
    let mut summary: Option<Value> = None;
    let mut failed = false;
    for id in ids {
        let Some(d) = ctx.ok(
            "GetDetector",
            client.get_detector().detector_id(&id).send().await,
        ) else {
            failed = true;
            continue;
        };
        let status = e(d.status());
        let frequency = e(d.finding_publishing_frequency());
        let config = obj([
            ("detectorId", json!(id)),
            ("status", status.clone()),
            ("findingPublishingFrequency", frequency.clone()),
            ("serviceRole", s(d.service_role())),
            ("createdAt", s(d.created_at())),
            ("updatedAt", s(d.updated_at())),
            (
                "features",
                Value::Array(
                    d.features()
                        .iter()
                        .map(|f| obj([("name", e(f.name())), ("status", e(f.status()))]))
                        .collect(),
                ),
            ),
        ]);
        let mut tag_list: Vec<(String, String)> = d
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        tag_list.sort();
        let arn = ctx.arn("guardduty", &format!("detector/{id}"));
        ctx.asset("aws.guardduty.detector", &arn, &id, tag_list, config);
        let enabled = status.as_str() == Some("ENABLED");
        let current_enabled = summary
            .as_ref()
            .is_some_and(|v| v.get("status").and_then(Value::as_str) == Some("ENABLED"));
        if summary.is_none() || (enabled && !current_enabled) {
            summary = Some(obj([
                ("detectorId", json!(id)),
                ("status", status),
                ("findingPublishingFrequency", frequency),
            ]));
        }
    }
    match summary {
        Some(v) => ctx.region_field("guardDuty", v),
        // A detector that could not be read might be the enabled one: leave the field absent.
        None if failed => {}
        None => ctx.region_field("guardDuty", json!({"status": "DISABLED"})),
    }
}
