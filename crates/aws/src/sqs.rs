//! Amazon SQS queues (per region): access policy and server-side encryption.

use futures_util::StreamExt;
use serde_json::{Value, json};

use aws_sdk_sqs::types::QueueAttributeName as A;

use crate::services::kms_key_ref;
use crate::{Ctx, obj};

pub async fn collect(ctx: &Ctx<'_>) {
    let client = aws_sdk_sqs::Client::new(&ctx.config);
    let mut list = client.list_queues().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        list = list.page_size(n);
    }
    let Some(urls) = ctx.ok("ListQueues", list.items().send().try_collect().await) else {
        return;
    };
    futures_util::stream::iter(urls)
        .map(|url| {
            let client = client.clone();
            async move {
                let Some(r) = ctx.ok(
                    "GetQueueAttributes",
                    client
                        .get_queue_attributes()
                        .queue_url(&url)
                        .attribute_names(A::All)
                        .send()
                        .await,
                ) else {
                    return;
                };
                let attrs = r.attributes().cloned().unwrap_or_default();
                let get = |a: A| attrs.get(&a).map(String::as_str);
                let num = |a: A| {
                    get(a)
                        .and_then(|v| v.parse::<i64>().ok())
                        .map(Value::from)
                        .unwrap_or(Value::Null)
                };
                let flag = |a: A| {
                    get(a)
                        .map(|v| Value::Bool(v.eq_ignore_ascii_case("true")))
                        .unwrap_or(Value::Null)
                };
                let name = url.rsplit('/').next().unwrap_or(&url).to_string();
                let arn = get(A::QueueArn)
                    .map(str::to_string)
                    .unwrap_or_else(|| ctx.arn("sqs", &name));
                let kms = get(A::KmsMasterKeyId).filter(|k| !k.is_empty());
                let redrive = get(A::RedrivePolicy)
                    .and_then(|p| serde_json::from_str::<Value>(p).ok())
                    .unwrap_or(Value::Null);
                let config = obj([
                    ("queueUrl", json!(url)),
                    ("queueArn", json!(arn)),
                    (
                        "kmsMasterKeyId",
                        kms.map(|k| json!(k)).unwrap_or(Value::Null),
                    ),
                    (
                        "kmsDataKeyReusePeriodSeconds",
                        if kms.is_some() {
                            num(A::KmsDataKeyReusePeriodSeconds)
                        } else {
                            Value::Null
                        },
                    ),
                    (
                        "sqsManagedSseEnabled",
                        json!(get(A::SqsManagedSseEnabled).is_some_and(|v| v == "true")),
                    ),
                    ("policy", crate::util::document(get(A::Policy))),
                    ("fifoQueue", json!(get(A::FifoQueue) == Some("true"))),
                    (
                        "contentBasedDeduplication",
                        flag(A::ContentBasedDeduplication),
                    ),
                    ("visibilityTimeout", num(A::VisibilityTimeout)),
                    ("messageRetentionPeriod", num(A::MessageRetentionPeriod)),
                    ("delaySeconds", num(A::DelaySeconds)),
                    ("redrivePolicy", redrive),
                ]);
                let k = ctx.asset("aws.sqs.queue", &arn, &name, Vec::new(), config);
                if let Some(kms) = kms {
                    ctx.edge(&k, kms_key_ref(ctx, kms, &ctx.region), "encrypted_by");
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}
