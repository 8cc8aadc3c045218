//! AWS Lambda functions (per region): configuration, resource policy and function URLs.
//!
//! Environment variables are reduced to their names: their values often hold credentials and
//! never leave the collector.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::services::kms_key_ref;
use crate::util::{code, e, error_message, i, s, strs};
use crate::{Ctx, key, obj};

pub async fn collect(ctx: &Ctx<'_>) {
    let client = aws_sdk_lambda::Client::new(&ctx.config);
    let mut list = client.list_functions().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        list = list.page_size(n);
    }
    let Some(functions) = ctx.ok("ListFunctions", list.items().send().try_collect().await) else {
        return;
    };
    futures_util::stream::iter(functions)
        .map(|f| {
            let client = client.clone();
            async move {
                let Some(name) = f.function_name().map(str::to_string) else {
                    return;
                };
                let (policy, urls) = futures_util::join!(
                    client.get_policy().function_name(&name).send(),
                    client
                        .list_function_url_configs()
                        .function_name(&name)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect(),
                );
                // No resource policy is an answer, not a failure.
                let policy = match policy {
                    Ok(p) => crate::util::document(p.policy()),
                    Err(err) if code(&err) == Some("ResourceNotFoundException") => Value::Null,
                    Err(err) => {
                        ctx.error("GetPolicy", error_message(&err));
                        Value::Null
                    }
                };
                // A failed listing leaves `functionUrlConfigs` absent (controls report error).
                let urls = ctx
                    .ok("ListFunctionUrlConfigs", urls)
                    .map(|list| {
                        Value::Array(
                            list.iter()
                                .map(|u| {
                                    obj([
                                        ("functionUrl", json!(u.function_url())),
                                        ("authType", json!(u.auth_type().as_str())),
                                        ("invokeMode", e(u.invoke_mode())),
                                        (
                                            "cors",
                                            u.cors()
                                                .map(|c| {
                                                    obj([
                                                        ("allowOrigins", strs(c.allow_origins())),
                                                        ("allowMethods", strs(c.allow_methods())),
                                                        ("allowHeaders", strs(c.allow_headers())),
                                                        (
                                                            "allowCredentials",
                                                            crate::util::b(c.allow_credentials()),
                                                        ),
                                                    ])
                                                })
                                                .unwrap_or(Value::Null),
                                        ),
                                    ])
                                })
                                .collect(),
                        )
                    })
                    .unwrap_or(Value::Null);
                let arn = f
                    .function_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| ctx.arn("lambda", &format!("function:{name}")));
                // Names only: the values are secrets as often as not.
                let mut env_names: Vec<&str> = f
                    .environment()
                    .and_then(|env| env.variables())
                    .map(|vars| vars.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                env_names.sort_unstable();
                let config = obj([
                    ("functionName", json!(name)),
                    ("functionArn", json!(arn)),
                    ("runtime", e(f.runtime())),
                    ("packageType", e(f.package_type())),
                    ("role", s(f.role())),
                    ("handler", s(f.handler())),
                    ("timeout", i(f.timeout())),
                    ("memorySize", i(f.memory_size())),
                    ("lastModified", s(f.last_modified())),
                    (
                        "architectures",
                        Value::Array(
                            f.architectures()
                                .iter()
                                .map(|a| json!(a.as_str()))
                                .collect(),
                        ),
                    ),
                    (
                        "vpcConfig",
                        f.vpc_config()
                            .map(|v| {
                                obj([
                                    ("subnetIds", strs(v.subnet_ids())),
                                    ("securityGroupIds", strs(v.security_group_ids())),
                                    ("vpcId", s(v.vpc_id().filter(|x| !x.is_empty()))),
                                ])
                            })
                            .unwrap_or(Value::Null),
                    ),
                    ("environmentVariableNames", strs(&env_names)),
                    ("kmsKeyArn", s(f.kms_key_arn())),
                    (
                        "tracingConfig",
                        f.tracing_config()
                            .map(|t| obj([("mode", e(t.mode()))]))
                            .unwrap_or(Value::Null),
                    ),
                    ("policy", policy),
                    ("functionUrlConfigs", urls),
                ]);
                let k = ctx.asset("aws.lambda.function", &arn, &name, Vec::new(), config);
                if let Some(role) = f.role() {
                    ctx.edge(&k, key("aws.iam.role", role), "uses");
                }
                for g in f
                    .vpc_config()
                    .map(|v| v.security_group_ids())
                    .unwrap_or_default()
                {
                    ctx.edge(
                        &k,
                        key(
                            "aws.ec2.security_group",
                            ctx.arn("ec2", &format!("security-group/{g}")),
                        ),
                        "uses",
                    );
                }
                if let Some(kms) = f.kms_key_arn() {
                    ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}
