//! AWS Secrets Manager secrets (per region): metadata and resource policy only. The collector
//! never calls GetSecretValue and has no permission to.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::services::kms_key_ref;
use crate::util::{code, error_message, s, tags, ts};
use crate::{Ctx, obj};

pub async fn collect(ctx: &Ctx<'_>) {
    let client = aws_sdk_secretsmanager::Client::new(&ctx.config);
    let mut list = client.list_secrets().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        list = list.page_size(n);
    }
    let Some(pages) = ctx.ok("ListSecrets", list.send().try_collect().await) else {
        return;
    };
    let secrets: Vec<_> = pages
        .iter()
        .flat_map(|p| p.secret_list().iter().cloned())
        .collect();
    futures_util::stream::iter(secrets)
        .map(|sec| {
            let client = client.clone();
            async move {
                let Some(arn) = sec.arn().map(str::to_string) else {
                    return;
                };
                let policy = match client.get_resource_policy().secret_id(&arn).send().await {
                    Ok(p) => crate::util::document(p.resource_policy()),
                    Err(err) if code(&err) == Some("ResourceNotFoundException") => Value::Null,
                    Err(err) => {
                        ctx.error("GetResourcePolicy", error_message(&err));
                        Value::Null
                    }
                };
                let config = obj([
                    ("name", s(sec.name())),
                    ("arn", json!(arn)),
                    ("description", s(sec.description())),
                    ("kmsKeyId", s(sec.kms_key_id())),
                    (
                        "rotationEnabled",
                        json!(sec.rotation_enabled().unwrap_or(false)),
                    ),
                    ("rotationLambdaArn", s(sec.rotation_lambda_arn())),
                    (
                        "rotationRules",
                        sec.rotation_rules()
                            .map(|r| {
                                obj([
                                    (
                                        "automaticallyAfterDays",
                                        r.automatically_after_days()
                                            .map(Value::from)
                                            .unwrap_or(Value::Null),
                                    ),
                                    ("duration", s(r.duration())),
                                    ("scheduleExpression", s(r.schedule_expression())),
                                ])
                            })
                            .unwrap_or(Value::Null),
                    ),
                    ("lastRotatedDate", ts(sec.last_rotated_date())),
                    ("lastChangedDate", ts(sec.last_changed_date())),
                    ("lastAccessedDate", ts(sec.last_accessed_date())),
                    ("nextRotationDate", ts(sec.next_rotation_date())),
                    ("createdDate", ts(sec.created_date())),
                    ("deletedDate", ts(sec.deleted_date())),
                    ("primaryRegion", s(sec.primary_region())),
                    ("owningService", s(sec.owning_service())),
                    ("policy", policy),
                ]);
                let name = sec.name().unwrap_or(&arn).to_string();
                let tag_list = tags(sec.tags(), |t| t.key(), |t| t.value());
                let k = ctx.asset("aws.secretsmanager.secret", &arn, &name, tag_list, config);
                if let Some(kms) = sec.kms_key_id() {
                    ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}
