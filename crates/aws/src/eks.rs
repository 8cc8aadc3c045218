//! Amazon EKS clusters (per region): API endpoint exposure, control-plane logging, secrets
//! encryption.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::services::kms_key_ref;
use crate::util::{e, s, strs, ts};
use crate::{Ctx, key, obj};

pub async fn collect(ctx: &Ctx<'_>) {
    let client = aws_sdk_eks::Client::new(&ctx.config);
    let mut list = client.list_clusters().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        list = list.page_size(n);
    }
    let Some(names) = ctx.ok("ListClusters", list.items().send().try_collect().await) else {
        return;
    };
    futures_util::stream::iter(names)
        .map(|name| {
            let client = client.clone();
            async move {
                let Some(d) = ctx.ok(
                    "DescribeCluster",
                    client.describe_cluster().name(&name).send().await,
                ) else {
                    return;
                };
                let Some(c) = d.cluster() else { return };
                let arn = c
                    .arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| ctx.arn("eks", &format!("cluster/{name}")));
                let vpc = c.resources_vpc_config();
                let config = obj([
                    ("name", json!(name)),
                    ("arn", json!(arn)),
                    ("version", s(c.version())),
                    ("platformVersion", s(c.platform_version())),
                    ("status", e(c.status())),
                    ("endpoint", s(c.endpoint())),
                    ("roleArn", s(c.role_arn())),
                    ("createdAt", ts(c.created_at())),
                    (
                        "resourcesVpcConfig",
                        vpc.map(|v| {
                            obj([
                                ("vpcId", s(v.vpc_id())),
                                ("subnetIds", strs(v.subnet_ids())),
                                ("securityGroupIds", strs(v.security_group_ids())),
                                ("clusterSecurityGroupId", s(v.cluster_security_group_id())),
                                ("endpointPublicAccess", json!(v.endpoint_public_access())),
                                ("endpointPrivateAccess", json!(v.endpoint_private_access())),
                                ("publicAccessCidrs", strs(v.public_access_cidrs())),
                            ])
                        })
                        .unwrap_or(Value::Null),
                    ),
                    (
                        "logging",
                        c.logging()
                            .map(|l| {
                                obj([(
                                    "clusterLogging",
                                    Value::Array(
                                        l.cluster_logging()
                                            .iter()
                                            .map(|x| {
                                                obj([
                                                    (
                                                        "types",
                                                        Value::Array(
                                                            x.types()
                                                                .iter()
                                                                .map(|t| json!(t.as_str()))
                                                                .collect(),
                                                        ),
                                                    ),
                                                    (
                                                        "enabled",
                                                        json!(x.enabled().unwrap_or(false)),
                                                    ),
                                                ])
                                            })
                                            .collect(),
                                    ),
                                )])
                            })
                            .unwrap_or(Value::Null),
                    ),
                    (
                        "encryptionConfig",
                        Value::Array(
                            c.encryption_config()
                                .iter()
                                .map(|x| {
                                    obj([(
                                        "provider",
                                        x.provider()
                                            .map(|p| obj([("keyArn", s(p.key_arn()))]))
                                            .unwrap_or(Value::Null),
                                    )])
                                })
                                .collect(),
                        ),
                    ),
                    (
                        "deletionProtection",
                        crate::util::b(c.deletion_protection()),
                    ),
                ]);
                let mut tag_list: Vec<(String, String)> = c
                    .tags()
                    .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                tag_list.sort();
                let k = ctx.asset("aws.eks.cluster", &arn, &name, tag_list, config);
                if let Some(role) = c.role_arn() {
                    ctx.edge(&k, key("aws.iam.role", role), "uses");
                }
                if let Some(v) = vpc {
                    let groups = v
                        .security_group_ids()
                        .iter()
                        .map(String::as_str)
                        .chain(v.cluster_security_group_id());
                    for g in groups {
                        ctx.edge(
                            &k,
                            key(
                                "aws.ec2.security_group",
                                ctx.arn("ec2", &format!("security-group/{g}")),
                            ),
                            "uses",
                        );
                    }
                    if let Some(vpc_id) = v.vpc_id() {
                        ctx.edge(
                            &k,
                            key("aws.ec2.vpc", ctx.arn("ec2", &format!("vpc/{vpc_id}"))),
                            "contained_in",
                        );
                    }
                }
                for x in c.encryption_config() {
                    if let Some(kms) = x.provider().and_then(|p| p.key_arn()) {
                        ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
                    }
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}
