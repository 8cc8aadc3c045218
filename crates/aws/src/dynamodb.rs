//! Amazon DynamoDB tables (per region): encryption, point-in-time recovery, deletion
//! protection.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::services::kms_key_ref;
use crate::util::{b, e, s, ts};
use crate::{Ctx, obj};

pub async fn collect(ctx: &Ctx<'_>) {
    let client = aws_sdk_dynamodb::Client::new(&ctx.config);
    let mut list = client.list_tables().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        list = list.page_size(n);
    }
    let Some(names) = ctx.ok("ListTables", list.items().send().try_collect().await) else {
        return;
    };
    futures_util::stream::iter(names)
        .map(|name| {
            let client = client.clone();
            async move {
                let (table, backups) = futures_util::join!(
                    client.describe_table().table_name(&name).send(),
                    client
                        .describe_continuous_backups()
                        .table_name(&name)
                        .send(),
                );
                let Some(table) = ctx.ok("DescribeTable", table) else {
                    return;
                };
                let Some(t) = table.table() else { return };
                // A failed DescribeContinuousBackups leaves the field absent: the PITR control
                // reports an error, not a false failure.
                let backups = ctx
                    .ok("DescribeContinuousBackups", backups)
                    .and_then(|r| {
                        r.continuous_backups_description().map(|d| {
                            obj([
                                (
                                    "continuousBackupsStatus",
                                    json!(d.continuous_backups_status().as_str()),
                                ),
                                (
                                    "pointInTimeRecoveryDescription",
                                    d.point_in_time_recovery_description()
                                        .map(|p| {
                                            obj([
                                                (
                                                    "pointInTimeRecoveryStatus",
                                                    e(p.point_in_time_recovery_status()),
                                                ),
                                                (
                                                    "earliestRestorableDateTime",
                                                    ts(p.earliest_restorable_date_time()),
                                                ),
                                                (
                                                    "latestRestorableDateTime",
                                                    ts(p.latest_restorable_date_time()),
                                                ),
                                            ])
                                        })
                                        .unwrap_or(Value::Null),
                                ),
                            ])
                        })
                    })
                    .unwrap_or(Value::Null);
                let arn = t
                    .table_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| ctx.arn("dynamodb", &format!("table/{name}")));
                let sse = t.sse_description();
                let config = obj([
                    ("tableName", json!(name)),
                    ("tableArn", json!(arn)),
                    ("tableId", s(t.table_id())),
                    ("tableStatus", e(t.table_status())),
                    ("creationDateTime", ts(t.creation_date_time())),
                    (
                        "sseDescription",
                        sse.map(|x| {
                            obj([
                                ("status", e(x.status())),
                                ("sseType", e(x.sse_type())),
                                ("kmsMasterKeyArn", s(x.kms_master_key_arn())),
                            ])
                        })
                        .unwrap_or(Value::Null),
                    ),
                    (
                        "billingModeSummary",
                        t.billing_mode_summary()
                            .map(|x| obj([("billingMode", e(x.billing_mode()))]))
                            .unwrap_or(Value::Null),
                    ),
                    (
                        "deletionProtectionEnabled",
                        b(t.deletion_protection_enabled()),
                    ),
                    ("continuousBackups", backups),
                ]);
                let k = ctx.asset("aws.dynamodb.table", &arn, &name, Vec::new(), config);
                if let Some(kms) = sse.and_then(|x| x.kms_master_key_arn()) {
                    ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}
