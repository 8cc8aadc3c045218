//! S3 buckets (global listing, each bucket in its own region).

use aws_sdk_s3::Client;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::util::{code, e, error_message, s, tags, ts};
use crate::{Ctx, key, obj};

fn client(ctx: &Ctx<'_>, region: Option<&str>) -> Client {
    let mut b = aws_sdk_s3::config::Builder::from(&ctx.config);
    if ctx.scan.path_style {
        b = b.force_path_style(true);
    }
    if let Some(r) = region {
        b = b.region(aws_config::Region::new(r.to_string()));
    }
    Client::from_conf(b.build())
}

/// Answers `Ok(None)` when the bucket simply has no such configuration (one of `absent`).
async fn optional<T, E, R>(
    ctx: &Ctx<'_>,
    operation: &str,
    absent: &[&str],
    result: Result<T, aws_sdk_s3::error::SdkError<E, R>>,
) -> Option<Option<T>>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match result {
        Ok(v) => Some(Some(v)),
        Err(err) if code(&err).is_some_and(|c| absent.contains(&c)) => Some(None),
        Err(err) => {
            ctx.error(operation, error_message(&err));
            None
        }
    }
}

pub async fn collect(ctx: &Ctx<'_>) {
    let global = client(ctx, None);
    let mut pages = global.list_buckets().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        pages = pages.page_size(n);
    }
    let Some(buckets) = ctx.ok("ListBuckets", pages.items().send().try_collect().await) else {
        return;
    };
    futures_util::stream::iter(buckets)
        .map(|bucket| {
            let global = global.clone();
            async move {
                let Some(name) = bucket.name().map(str::to_string) else {
                    return;
                };
                let region = match ctx.ok(
                    "GetBucketLocation",
                    global.get_bucket_location().bucket(&name).send().await,
                ) {
                    Some(r) => match r.location_constraint().map(|c| c.as_str()) {
                        None | Some("") => "us-east-1".to_string(),
                        Some("EU") => "eu-west-1".to_string(),
                        Some(other) => other.to_string(),
                    },
                    None => bucket
                        .bucket_region()
                        .map(str::to_string)
                        .unwrap_or_else(|| "us-east-1".into()),
                };
                let c = client(ctx, Some(&region));
                bucket_asset(ctx, &c, &name, &region, ts(bucket.creation_date())).await;
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

async fn bucket_asset(ctx: &Ctx<'_>, c: &Client, name: &str, region: &str, created: Value) {
    let (pab, policy, status, enc, ver, log, acl, tagging, lifecycle, lock) = futures_util::join!(
        c.get_public_access_block().bucket(name).send(),
        c.get_bucket_policy().bucket(name).send(),
        c.get_bucket_policy_status().bucket(name).send(),
        c.get_bucket_encryption().bucket(name).send(),
        c.get_bucket_versioning().bucket(name).send(),
        c.get_bucket_logging().bucket(name).send(),
        c.get_bucket_acl().bucket(name).send(),
        c.get_bucket_tagging().bucket(name).send(),
        c.get_bucket_lifecycle_configuration().bucket(name).send(),
        c.get_object_lock_configuration().bucket(name).send(),
    );
    // No lifecycle configuration: an empty rule list. A failed call: the field is absent.
    let lifecycle = optional(
        ctx,
        "GetBucketLifecycleConfiguration",
        &["NoSuchLifecycleConfiguration"],
        lifecycle,
    )
    .await
    .map(|r| {
        let rules: Vec<Value> = r
            .map(|r| r.rules().iter().map(lifecycle_rule).collect())
            .unwrap_or_default();
        json!({ "rules": rules })
    });
    let object_lock = optional(
        ctx,
        "GetObjectLockConfiguration",
        &["ObjectLockConfigurationNotFoundError"],
        lock,
    )
    .await
    .map(|r| {
        let cfg = r.as_ref().and_then(|r| r.object_lock_configuration());
        let retention = cfg
            .and_then(|c| c.rule())
            .and_then(|r| r.default_retention());
        obj([
            (
                "enabled",
                json!(
                    cfg.and_then(|c| c.object_lock_enabled())
                        .map(|x| x.as_str())
                        == Some("Enabled")
                ),
            ),
            (
                "defaultRetention",
                retention
                    .map(|d| {
                        obj([
                            ("mode", e(d.mode())),
                            ("days", crate::util::i(d.days())),
                            ("years", crate::util::i(d.years())),
                        ])
                    })
                    .unwrap_or(Value::Null),
            ),
        ])
    });
    let pab = optional(
        ctx,
        "GetPublicAccessBlock",
        &["NoSuchPublicAccessBlockConfiguration"],
        pab,
    )
    .await
    .flatten()
    .and_then(|r| {
        r.public_access_block_configuration().map(|p| {
            json!({
                "blockPublicAcls": p.block_public_acls().unwrap_or(false),
                "ignorePublicAcls": p.ignore_public_acls().unwrap_or(false),
                "blockPublicPolicy": p.block_public_policy().unwrap_or(false),
                "restrictPublicBuckets": p.restrict_public_buckets().unwrap_or(false),
            })
        })
    });
    let policy = optional(ctx, "GetBucketPolicy", &["NoSuchBucketPolicy"], policy)
        .await
        .flatten()
        .map(|r| crate::util::document(r.policy()));
    let status = optional(
        ctx,
        "GetBucketPolicyStatus",
        &["NoSuchBucketPolicy"],
        status,
    )
    .await
    .flatten()
    .and_then(|r| {
        r.policy_status()
            .map(|p| json!({"isPublic": p.is_public().unwrap_or(false)}))
    });
    let encryption = optional(
        ctx,
        "GetBucketEncryption",
        &["ServerSideEncryptionConfigurationNotFoundError"],
        enc,
    )
    .await
    .flatten()
    .and_then(|r| {
        r.server_side_encryption_configuration().map(|c| {
            let rules: Vec<Value> = c
                .rules()
                .iter()
                .map(|rule| {
                    obj([
                        (
                            "applyServerSideEncryptionByDefault",
                            rule.apply_server_side_encryption_by_default()
                                .map(|d| {
                                    obj([
                                        ("sseAlgorithm", json!(d.sse_algorithm().as_str())),
                                        ("kmsMasterKeyId", s(d.kms_master_key_id())),
                                    ])
                                })
                                .unwrap_or(Value::Null),
                        ),
                        (
                            "bucketKeyEnabled",
                            json!(rule.bucket_key_enabled().unwrap_or(false)),
                        ),
                    ])
                })
                .collect();
            json!({ "rules": rules })
        })
    });
    let versioning = ctx.ok("GetBucketVersioning", ver).map(|v| {
        json!({
            "status": v.status().map(|s| s.as_str().to_string()).unwrap_or_else(|| "Off".into()),
            "mfaDeleteEnabled": v.mfa_delete().map(|m| m.as_str()) == Some("Enabled"),
        })
    });
    let logging = ctx
        .ok("GetBucketLogging", log)
        .map(|l| match l.logging_enabled() {
            Some(le) => json!({
                "enabled": true,
                "targetBucket": le.target_bucket(),
                "targetPrefix": le.target_prefix(),
            }),
            None => json!({"enabled": false}),
        });
    let acl = ctx.ok("GetBucketAcl", acl).map(|a| {
        let grants: Vec<Value> = a
            .grants()
            .iter()
            .map(|g| {
                let grantee = g
                    .grantee()
                    .map(|gr| {
                        obj([
                            ("type", json!(gr.r#type().as_str())),
                            ("uri", s(gr.uri())),
                            ("id", s(gr.id())),
                            ("displayName", s(gr.display_name())),
                        ])
                    })
                    .unwrap_or(Value::Null);
                obj([("grantee", grantee), ("permission", e(g.permission()))])
            })
            .collect();
        obj([
            (
                "owner",
                a.owner()
                    .map(|o| obj([("id", s(o.id())), ("displayName", s(o.display_name()))]))
                    .unwrap_or(Value::Null),
            ),
            ("grants", Value::Array(grants)),
        ])
    });
    let tag_list = optional(ctx, "GetBucketTagging", &["NoSuchTagSet"], tagging)
        .await
        .flatten()
        .map(|t| tags(t.tag_set(), |x| Some(x.key()), |x| Some(x.value())))
        .unwrap_or_default();
    let target = logging
        .as_ref()
        .and_then(|l| l.get("targetBucket"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let kms_keys: Vec<String> = encryption
        .as_ref()
        .and_then(|e| e.get("rules"))
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .filter_map(|r| {
                    r.pointer("/applyServerSideEncryptionByDefault/kmsMasterKeyId")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let config = obj([
        ("name", json!(name)),
        ("creationDate", created),
        ("region", json!(region)),
        ("publicAccessBlock", pab.unwrap_or(Value::Null)),
        ("policy", policy.unwrap_or(Value::Null)),
        ("policyStatus", status.unwrap_or(Value::Null)),
        ("versioning", versioning.unwrap_or(Value::Null)),
        ("encryption", encryption.unwrap_or(Value::Null)),
        ("logging", logging.unwrap_or(Value::Null)),
        ("acl", acl.unwrap_or(Value::Null)),
        ("lifecycleConfiguration", lifecycle.unwrap_or(Value::Null)),
        (
            "objectLockConfiguration",
            object_lock.unwrap_or(Value::Null),
        ),
    ]);
    let arn = format!("arn:{}:s3:::{name}", ctx.scan.partition);
    let k = ctx.asset_in(region, "aws.s3.bucket", &arn, name, tag_list, config);
    if let Some(t) = target {
        ctx.edge(
            &k,
            key(
                "aws.s3.bucket",
                format!("arn:{}:s3:::{t}", ctx.scan.partition),
            ),
            "logs_to",
        );
    }
    for kms in kms_keys {
        ctx.edge(
            &k,
            crate::services::kms_key_ref(ctx, &kms, region),
            "encrypted_by",
        );
    }
}

/// Account-level S3 Block Public Access (`s3control GetPublicAccessBlock`); all `false` when
/// none is configured.
pub async fn account_public_access_block(ctx: &Ctx<'_>) -> Value {
    let mut b = aws_sdk_s3control::config::Builder::from(&ctx.config);
    if let Some(url) = ctx.scan.endpoint_url.clone() {
        // S3 Control prefixes the host with the account id, which an emulator on 127.0.0.1
        // cannot answer: send the request to the endpoint as given.
        b = b.endpoint_resolver(FixedEndpoint(url));
    }
    let client = aws_sdk_s3control::Client::from_conf(b.build());
    let off = json!({
        "blockPublicAcls": false, "ignorePublicAcls": false,
        "blockPublicPolicy": false, "restrictPublicBuckets": false,
    });
    match client
        .get_public_access_block()
        .account_id(ctx.account())
        .send()
        .await
    {
        Ok(r) => r
            .public_access_block_configuration()
            .map(|p| {
                json!({
                    "blockPublicAcls": p.block_public_acls().unwrap_or(false),
                    "ignorePublicAcls": p.ignore_public_acls().unwrap_or(false),
                    "blockPublicPolicy": p.block_public_policy().unwrap_or(false),
                    "restrictPublicBuckets": p.restrict_public_buckets().unwrap_or(false),
                })
            })
            .unwrap_or(off),
        Err(err) if code(&err) == Some("NoSuchPublicAccessBlockConfiguration") => off,
        Err(err) => {
            ctx.error("GetPublicAccessBlock", error_message(&err));
            Value::Null
        }
    }
}

#[derive(Debug)]
struct FixedEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_smithy_types::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

fn lifecycle_rule(r: &aws_sdk_s3::types::LifecycleRule) -> Value {
    use crate::util::i;
    let prefix = r
        .filter()
        .and_then(|f| f.prefix())
        .filter(|p| !p.is_empty());
    obj([
        ("id", s(r.id())),
        ("status", json!(r.status().as_str())),
        ("prefix", s(prefix)),
        (
            "expiration",
            r.expiration()
                .map(|x| {
                    obj([
                        ("days", i(x.days())),
                        ("date", ts(x.date())),
                        (
                            "expiredObjectDeleteMarker",
                            crate::util::b(x.expired_object_delete_marker()),
                        ),
                    ])
                })
                .unwrap_or(Value::Null),
        ),
        (
            "transitions",
            Value::Array(
                r.transitions()
                    .iter()
                    .map(|x| {
                        obj([
                            ("days", i(x.days())),
                            ("date", ts(x.date())),
                            ("storageClass", e(x.storage_class())),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "noncurrentVersionExpiration",
            r.noncurrent_version_expiration()
                .map(|x| obj([("noncurrentDays", i(x.noncurrent_days()))]))
                .unwrap_or(Value::Null),
        ),
        (
            "abortIncompleteMultipartUpload",
            r.abort_incomplete_multipart_upload()
                .map(|x| obj([("daysAfterInitiation", i(x.days_after_initiation()))]))
                .unwrap_or(Value::Null),
        ),
    ])
}
