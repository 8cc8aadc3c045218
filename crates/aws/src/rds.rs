//! RDS DB clusters, DB snapshots and DB cluster snapshots with their restore attributes (per
//! region). DB instances are in services.rs.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::services::kms_key_ref;
use crate::util::{b, i, s, strs, ts};
use crate::{Ctx, key, obj};

pub async fn collect(ctx: &Ctx<'_>) {
    let client = aws_sdk_rds::Client::new(&ctx.config);
    futures_util::join!(
        clusters(ctx, &client),
        snapshots(ctx, &client),
        cluster_snapshots(ctx, &client),
    );
}

fn rds_arn(ctx: &Ctx<'_>, kind: &str, id: &str) -> String {
    ctx.arn("rds", &format!("{kind}:{id}"))
}

fn security_group_edges(
    ctx: &Ctx<'_>,
    k: &crate::Key,
    groups: &[aws_sdk_rds::types::VpcSecurityGroupMembership],
) {
    for g in groups {
        if let Some(gid) = g.vpc_security_group_id() {
            ctx.edge(
                k,
                key(
                    "aws.ec2.security_group",
                    ctx.arn("ec2", &format!("security-group/{gid}")),
                ),
                "uses",
            );
        }
    }
}

/// Restore attribute values (account ids, or `all` for public) and whether they make the
/// snapshot public.
fn restore(values: Option<Vec<String>>) -> (Value, Value) {
    match values {
        Some(v) => {
            let public = v.iter().any(|x| x == "all");
            (strs(&v), json!(public))
        }
        None => (Value::Null, Value::Null),
    }
}

async fn clusters(ctx: &Ctx<'_>, client: &aws_sdk_rds::Client) {
    let Some(list) = ctx.ok(
        "DescribeDBClusters",
        client
            .describe_db_clusters()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for c in list {
        let Some(id) = c.db_cluster_identifier() else {
            continue;
        };
        let arn = c
            .db_cluster_arn()
            .map(str::to_string)
            .unwrap_or_else(|| rds_arn(ctx, "cluster", id));
        let config = obj([
            ("dbClusterIdentifier", json!(id)),
            ("dbClusterArn", json!(arn)),
            ("engine", s(c.engine())),
            ("engineVersion", s(c.engine_version())),
            ("engineMode", s(c.engine_mode())),
            ("status", s(c.status())),
            ("storageEncrypted", b(c.storage_encrypted())),
            ("kmsKeyId", s(c.kms_key_id())),
            ("publiclyAccessible", b(c.publicly_accessible())),
            ("deletionProtection", b(c.deletion_protection())),
            ("backupRetentionPeriod", i(c.backup_retention_period())),
            ("multiAZ", b(c.multi_az())),
            (
                "iamDatabaseAuthenticationEnabled",
                b(c.iam_database_authentication_enabled()),
            ),
            ("endpoint", s(c.endpoint())),
            ("readerEndpoint", s(c.reader_endpoint())),
            ("port", i(c.port())),
            ("dbSubnetGroup", s(c.db_subnet_group())),
            ("clusterCreateTime", ts(c.cluster_create_time())),
            (
                "enabledCloudwatchLogsExports",
                strs(c.enabled_cloudwatch_logs_exports()),
            ),
            (
                "vpcSecurityGroups",
                Value::Array(
                    c.vpc_security_groups()
                        .iter()
                        .map(|g| {
                            obj([
                                ("vpcSecurityGroupId", s(g.vpc_security_group_id())),
                                ("status", s(g.status())),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "dbClusterMembers",
                Value::Array(
                    c.db_cluster_members()
                        .iter()
                        .map(|m| {
                            obj([
                                ("dbInstanceIdentifier", s(m.db_instance_identifier())),
                                ("isClusterWriter", b(m.is_cluster_writer())),
                            ])
                        })
                        .collect(),
                ),
            ),
        ]);
        let tags = crate::util::tags(c.tag_list(), |t| t.key(), |t| t.value());
        let k = ctx.asset("aws.rds.db_cluster", &arn, id, tags, config);
        security_group_edges(ctx, &k, c.vpc_security_groups());
        if let Some(kms) = c.kms_key_id() {
            ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
        }
        for m in c.db_cluster_members() {
            if let Some(db) = m.db_instance_identifier() {
                ctx.edge(
                    &key("aws.rds.db_instance", rds_arn(ctx, "db", db)),
                    k.clone(),
                    "member_of",
                );
            }
        }
    }
}

async fn snapshots(ctx: &Ctx<'_>, client: &aws_sdk_rds::Client) {
    let Some(list) = ctx.ok(
        "DescribeDBSnapshots",
        client
            .describe_db_snapshots()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    futures_util::stream::iter(list)
        .map(|snap| async move {
            let Some(id) = snap.db_snapshot_identifier() else {
                return;
            };
            // Automated snapshots cannot be shared: no attribute call for them.
            let values = if snap.snapshot_type() == Some("automated") {
                Some(Vec::new())
            } else {
                ctx.ok(
                    "DescribeDBSnapshotAttributes",
                    client
                        .describe_db_snapshot_attributes()
                        .db_snapshot_identifier(id)
                        .send()
                        .await,
                )
                .map(|r| {
                    r.db_snapshot_attributes_result()
                        .map(|a| a.db_snapshot_attributes())
                        .unwrap_or_default()
                        .iter()
                        .filter(|a| a.attribute_name() == Some("restore"))
                        .flat_map(|a| a.attribute_values().iter().cloned())
                        .collect()
                })
            };
            let (values, public) = restore(values);
            let arn = snap
                .db_snapshot_arn()
                .map(str::to_string)
                .unwrap_or_else(|| rds_arn(ctx, "snapshot", id));
            let config = obj([
                ("dbSnapshotIdentifier", json!(id)),
                ("dbSnapshotArn", json!(arn)),
                ("dbInstanceIdentifier", s(snap.db_instance_identifier())),
                ("snapshotType", s(snap.snapshot_type())),
                ("status", s(snap.status())),
                ("engine", s(snap.engine())),
                ("engineVersion", s(snap.engine_version())),
                ("allocatedStorage", i(snap.allocated_storage())),
                ("encrypted", b(snap.encrypted())),
                ("kmsKeyId", s(snap.kms_key_id())),
                ("vpcId", s(snap.vpc_id())),
                ("snapshotCreateTime", ts(snap.snapshot_create_time())),
                ("restoreAttributeValues", values),
                ("public", public),
            ]);
            let tags = crate::util::tags(snap.tag_list(), |t| t.key(), |t| t.value());
            let k = ctx.asset("aws.rds.db_snapshot", &arn, id, tags, config);
            if let Some(db) = snap.db_instance_identifier() {
                ctx.edge(
                    &k,
                    key("aws.rds.db_instance", rds_arn(ctx, "db", db)),
                    "snapshot_of",
                );
            }
            if let Some(kms) = snap.kms_key_id() {
                ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

async fn cluster_snapshots(ctx: &Ctx<'_>, client: &aws_sdk_rds::Client) {
    let Some(list) = ctx.ok(
        "DescribeDBClusterSnapshots",
        client
            .describe_db_cluster_snapshots()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    futures_util::stream::iter(list)
        .map(|snap| async move {
            let Some(id) = snap.db_cluster_snapshot_identifier() else {
                return;
            };
            let values = if snap.snapshot_type() == Some("automated") {
                Some(Vec::new())
            } else {
                ctx.ok(
                    "DescribeDBClusterSnapshotAttributes",
                    client
                        .describe_db_cluster_snapshot_attributes()
                        .db_cluster_snapshot_identifier(id)
                        .send()
                        .await,
                )
                .map(|r| {
                    r.db_cluster_snapshot_attributes_result()
                        .map(|a| a.db_cluster_snapshot_attributes())
                        .unwrap_or_default()
                        .iter()
                        .filter(|a| a.attribute_name() == Some("restore"))
                        .flat_map(|a| a.attribute_values().iter().cloned())
                        .collect()
                })
            };
            let (values, public) = restore(values);
            let arn = snap
                .db_cluster_snapshot_arn()
                .map(str::to_string)
                .unwrap_or_else(|| rds_arn(ctx, "cluster-snapshot", id));
            let config = obj([
                ("dbClusterSnapshotIdentifier", json!(id)),
                ("dbClusterSnapshotArn", json!(arn)),
                ("dbClusterIdentifier", s(snap.db_cluster_identifier())),
                ("snapshotType", s(snap.snapshot_type())),
                ("status", s(snap.status())),
                ("engine", s(snap.engine())),
                ("engineVersion", s(snap.engine_version())),
                ("allocatedStorage", i(snap.allocated_storage())),
                ("storageEncrypted", b(snap.storage_encrypted())),
                ("kmsKeyId", s(snap.kms_key_id())),
                ("vpcId", s(snap.vpc_id())),
                ("snapshotCreateTime", ts(snap.snapshot_create_time())),
                ("restoreAttributeValues", values),
                ("public", public),
            ]);
            let tags = crate::util::tags(snap.tag_list(), |t| t.key(), |t| t.value());
            let k = ctx.asset("aws.rds.db_cluster_snapshot", &arn, id, tags, config);
            if let Some(cl) = snap.db_cluster_identifier() {
                ctx.edge(
                    &k,
                    key("aws.rds.db_cluster", rds_arn(ctx, "cluster", cl)),
                    "snapshot_of",
                );
            }
            if let Some(kms) = snap.kms_key_id() {
                ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}
