//! Amazon ECR repositories (per region): repository policy, scan on push, tag immutability,
//! encryption.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::services::kms_key_ref;
use crate::util::{code, e, error_message, s, ts};
use crate::{Ctx, obj};

pub async fn collect(ctx: &Ctx<'_>) {
    let client = aws_sdk_ecr::Client::new(&ctx.config);
    let mut list = client.describe_repositories().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        list = list.page_size(n);
    }
    let Some(repos) = ctx.ok(
        "DescribeRepositories",
        list.items().send().try_collect().await,
    ) else {
        return;
    };
    futures_util::stream::iter(repos)
        .map(|r| {
            let client = client.clone();
            async move {
                let Some(name) = r.repository_name().map(str::to_string) else {
                    return;
                };
                let mut req = client.get_repository_policy().repository_name(&name);
                if let Some(reg) = r.registry_id() {
                    req = req.registry_id(reg);
                }
                let policy = match req.send().await {
                    Ok(p) => crate::util::document(p.policy_text()),
                    Err(err) if code(&err) == Some("RepositoryPolicyNotFoundException") => {
                        Value::Null
                    }
                    Err(err) => {
                        ctx.error("GetRepositoryPolicy", error_message(&err));
                        Value::Null
                    }
                };
                let arn = r
                    .repository_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| ctx.arn("ecr", &format!("repository/{name}")));
                let enc = r.encryption_configuration();
                let config = obj([
                    ("repositoryName", json!(name)),
                    ("repositoryArn", json!(arn)),
                    ("registryId", s(r.registry_id())),
                    ("repositoryUri", s(r.repository_uri())),
                    ("createdAt", ts(r.created_at())),
                    ("imageTagMutability", e(r.image_tag_mutability())),
                    (
                        "imageScanningConfiguration",
                        json!({
                            "scanOnPush": r
                                .image_scanning_configuration()
                                .is_some_and(|c| c.scan_on_push()),
                        }),
                    ),
                    (
                        "encryptionConfiguration",
                        enc.map(|c| {
                            obj([
                                ("encryptionType", json!(c.encryption_type().as_str())),
                                ("kmsKey", s(c.kms_key())),
                            ])
                        })
                        .unwrap_or(Value::Null),
                    ),
                    ("policy", policy),
                ]);
                let k = ctx.asset("aws.ecr.repository", &arn, &name, Vec::new(), config);
                if let Some(kms) = enc.and_then(|c| c.kms_key()) {
                    ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}
