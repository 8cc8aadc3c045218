//! KMS, RDS, EFS, AWS Config, IAM Access Analyzer, Security Hub (per region).

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::util::{b, code, e, error_message, i, s, ts};
use crate::{Ctx, Key, key, obj};

/// The asset key of a KMS key referred to by ARN or key id (aliases cannot be resolved and
/// yield a key that matches nothing, so the edge is dropped).
pub fn kms_key_ref(ctx: &Ctx<'_>, id: &str, region: &str) -> Key {
    if id.starts_with("arn:") {
        return key("aws.kms.key", id);
    }
    key(
        "aws.kms.key",
        format!(
            "arn:{}:kms:{region}:{}:key/{id}",
            ctx.scan.partition, ctx.scan.account
        ),
    )
}

pub async fn kms(ctx: &Ctx<'_>) {
    let client = aws_sdk_kms::Client::new(&ctx.config);
    let Some(keys) = ctx.ok(
        "ListKeys",
        client
            .list_keys()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    futures_util::stream::iter(keys)
        .map(|k| {
            let client = client.clone();
            async move {
                let Some(id) = k.key_id().map(str::to_string) else {
                    return;
                };
                let Some(d) = ctx.ok(
                    "DescribeKey",
                    client.describe_key().key_id(&id).send().await,
                ) else {
                    return;
                };
                let Some(m) = d.key_metadata() else { return };
                let customer = m.key_manager().map(|x| x.as_str()) == Some("CUSTOMER");
                let symmetric = m.key_spec().map(|x| x.as_str()) == Some("SYMMETRIC_DEFAULT");
                // Rotation applies to customer-managed symmetric keys only; other keys answer
                // an error that is no collection failure.
                let rotation = if customer && symmetric {
                    ctx.ok(
                        "GetKeyRotationStatus",
                        client.get_key_rotation_status().key_id(&id).send().await,
                    )
                    .map(|r| json!(r.key_rotation_enabled()))
                    .unwrap_or(Value::Null)
                } else {
                    Value::Null
                };
                let policy = ctx
                    .ok(
                        "GetKeyPolicy",
                        client
                            .get_key_policy()
                            .key_id(&id)
                            .policy_name("default")
                            .send()
                            .await,
                    )
                    .map(|p| crate::util::document(p.policy()))
                    .unwrap_or(Value::Null);
                let arn = m
                    .arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| ctx.arn("kms", &format!("key/{id}")));
                let config = obj([
                    ("keyId", json!(m.key_id())),
                    ("arn", json!(arn)),
                    ("description", s(m.description())),
                    ("enabled", json!(m.enabled())),
                    ("keyState", e(m.key_state())),
                    ("keyUsage", e(m.key_usage())),
                    ("keySpec", e(m.key_spec())),
                    ("keyManager", e(m.key_manager())),
                    ("origin", e(m.origin())),
                    ("creationDate", ts(m.creation_date())),
                    ("deletionDate", ts(m.deletion_date())),
                    ("multiRegion", b(m.multi_region())),
                    ("keyRotationEnabled", rotation),
                    ("keyPolicy", policy),
                ]);
                ctx.asset("aws.kms.key", &arn, &id, Vec::new(), config);
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

pub async fn rds(ctx: &Ctx<'_>) {
    let client = aws_sdk_rds::Client::new(&ctx.config);
    let Some(list) = ctx.ok(
        "DescribeDBInstances",
        client
            .describe_db_instances()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for db in list {
        let Some(id) = db.db_instance_identifier() else {
            continue;
        };
        let arn = db
            .db_instance_arn()
            .map(str::to_string)
            .unwrap_or_else(|| ctx.arn("rds", &format!("db:{id}")));
        let config = obj([
            ("dbInstanceIdentifier", json!(id)),
            ("dbInstanceArn", json!(arn)),
            ("dbInstanceClass", s(db.db_instance_class())),
            ("engine", s(db.engine())),
            ("engineVersion", s(db.engine_version())),
            ("dbInstanceStatus", s(db.db_instance_status())),
            ("storageEncrypted", b(db.storage_encrypted())),
            ("kmsKeyId", s(db.kms_key_id())),
            ("publiclyAccessible", b(db.publicly_accessible())),
            (
                "autoMinorVersionUpgrade",
                b(db.auto_minor_version_upgrade()),
            ),
            ("backupRetentionPeriod", i(db.backup_retention_period())),
            ("multiAZ", b(db.multi_az())),
            ("deletionProtection", b(db.deletion_protection())),
            (
                "iamDatabaseAuthenticationEnabled",
                b(db.iam_database_authentication_enabled()),
            ),
            (
                "endpoint",
                db.endpoint()
                    .map(|ep| obj([("address", s(ep.address())), ("port", i(ep.port()))]))
                    .unwrap_or(Value::Null),
            ),
            (
                "vpcSecurityGroups",
                Value::Array(
                    db.vpc_security_groups()
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
                "dbSubnetGroup",
                db.db_subnet_group()
                    .map(|g| {
                        obj([
                            ("dbSubnetGroupName", s(g.db_subnet_group_name())),
                            ("vpcId", s(g.vpc_id())),
                        ])
                    })
                    .unwrap_or(Value::Null),
            ),
        ]);
        let tags = crate::util::tags(db.tag_list(), |t| t.key(), |t| t.value());
        let k = ctx.asset("aws.rds.db_instance", &arn, id, tags, config);
        for g in db.vpc_security_groups() {
            if let Some(gid) = g.vpc_security_group_id() {
                ctx.edge(
                    &k,
                    key(
                        "aws.ec2.security_group",
                        ctx.arn("ec2", &format!("security-group/{gid}")),
                    ),
                    "uses",
                );
            }
        }
        if let Some(kms) = db.kms_key_id() {
            ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
        }
    }
}

pub async fn efs(ctx: &Ctx<'_>) {
    let client = aws_sdk_efs::Client::new(&ctx.config);
    let Some(list) = ctx.ok(
        "DescribeFileSystems",
        client
            .describe_file_systems()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for fs in list {
        let id = fs.file_system_id().to_string();
        let arn = fs
            .file_system_arn()
            .map(str::to_string)
            .unwrap_or_else(|| ctx.arn("elasticfilesystem", &format!("file-system/{id}")));
        let backup = match client
            .describe_backup_policy()
            .file_system_id(&id)
            .send()
            .await
        {
            Ok(r) => r
                .backup_policy()
                .map(|p| json!({"status": p.status().as_str()})),
            Err(err) if code(&err) == Some("PolicyNotFound") => None,
            Err(err) => {
                ctx.error("DescribeBackupPolicy", error_message(&err));
                None
            }
        };
        let config = obj([
            ("fileSystemId", json!(id)),
            ("fileSystemArn", json!(arn)),
            ("name", s(fs.name())),
            ("encrypted", b(fs.encrypted())),
            ("kmsKeyId", s(fs.kms_key_id())),
            ("lifeCycleState", json!(fs.life_cycle_state().as_str())),
            ("performanceMode", json!(fs.performance_mode().as_str())),
            ("throughputMode", e(fs.throughput_mode())),
            ("creationTime", ts(Some(fs.creation_time()))),
            ("backupPolicy", backup.unwrap_or(Value::Null)),
        ]);
        let tags = crate::util::tags(fs.tags(), |t| Some(t.key()), |t| Some(t.value()));
        let name = fs.name().unwrap_or(&id).to_string();
        let k = ctx.asset("aws.efs.file_system", &arn, &name, tags, config);
        if let Some(kms) = fs.kms_key_id() {
            ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
        }
    }
}

/// `DescribeConfigurationRecorders` + `DescribeConfigurationRecorderStatus` into the region's
/// `configRecorders`, and `DescribeDeliveryChannels` into its `configDeliveryChannels`.
pub async fn config_recorders(ctx: &Ctx<'_>) {
    let client = aws_sdk_config::Client::new(&ctx.config);
    let (recorders, statuses, channels) = futures_util::join!(
        client.describe_configuration_recorders().send(),
        client.describe_configuration_recorder_status().send(),
        client.describe_delivery_channels().send(),
    );
    if let Some(channels) = ctx.ok("DescribeDeliveryChannels", channels) {
        let list: Vec<Value> = channels
            .delivery_channels()
            .iter()
            .map(|c| {
                obj([
                    ("name", s(c.name())),
                    ("s3BucketName", s(c.s3_bucket_name())),
                    ("s3KeyPrefix", s(c.s3_key_prefix())),
                    ("s3KmsKeyArn", s(c.s3_kms_key_arn())),
                    ("snsTopicARN", s(c.sns_topic_arn())),
                    (
                        "deliveryFrequency",
                        e(c.config_snapshot_delivery_properties()
                            .and_then(|p| p.delivery_frequency())),
                    ),
                ])
            })
            .collect();
        ctx.region_field("configDeliveryChannels", Value::Array(list));
    }
    let Some(recorders) = ctx.ok("DescribeConfigurationRecorders", recorders) else {
        return;
    };
    let statuses = ctx
        .ok("DescribeConfigurationRecorderStatus", statuses)
        .map(|s| s.configuration_recorders_status().to_vec())
        .unwrap_or_default();
    let list: Vec<Value> = recorders
        .configuration_recorders()
        .iter()
        .map(|r| {
            let st = statuses.iter().find(|x| x.name() == r.name());
            obj([
                ("name", s(r.name())),
                ("roleARN", s(r.role_arn())),
                (
                    "recordingGroup",
                    r.recording_group()
                        .map(|g| {
                            obj([
                                ("allSupported", json!(g.all_supported())),
                                (
                                    "includeGlobalResourceTypes",
                                    json!(g.include_global_resource_types()),
                                ),
                                (
                                    "resourceTypes",
                                    Value::Array(
                                        g.resource_types()
                                            .iter()
                                            .map(|t| json!(t.as_str()))
                                            .collect(),
                                    ),
                                ),
                            ])
                        })
                        .unwrap_or(Value::Null),
                ),
                ("recording", json!(st.is_some_and(|x| x.recording()))),
                ("lastStatus", e(st.and_then(|x| x.last_status()))),
            ])
        })
        .collect();
    ctx.region_field("configRecorders", Value::Array(list));
}

pub async fn access_analyzer(ctx: &Ctx<'_>) {
    let client = aws_sdk_accessanalyzer::Client::new(&ctx.config);
    let Some(list) = ctx.ok(
        "ListAnalyzers",
        client
            .list_analyzers()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    let analyzers: Vec<Value> = list
        .iter()
        .map(|a| {
            obj([
                ("name", json!(a.name())),
                ("arn", json!(a.arn())),
                ("type", json!(a.r#type().as_str())),
                ("status", json!(a.status().as_str())),
            ])
        })
        .collect();
    ctx.region_field("accessAnalyzers", Value::Array(analyzers));
}

pub async fn security_hub(ctx: &Ctx<'_>) {
    let client = aws_sdk_securityhub::Client::new(&ctx.config);
    let hub = match client.describe_hub().send().await {
        Ok(r) => obj([
            ("enabled", json!(true)),
            ("hubArn", s(r.hub_arn())),
            ("subscribedAt", s(r.subscribed_at())),
            ("autoEnableControls", b(r.auto_enable_controls())),
        ]),
        Err(err)
            if matches!(
                code(&err),
                Some("InvalidAccessException") | Some("ResourceNotFoundException")
            ) =>
        {
            json!({"enabled": false})
        }
        Err(err) => {
            ctx.error("DescribeHub", error_message(&err));
            return;
        }
    };
    ctx.region_field("securityHub", hub);
}
