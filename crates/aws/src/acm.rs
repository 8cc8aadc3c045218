//! AWS Certificate Manager certificates (per region).

use futures_util::StreamExt;
use serde_json::{Value, json};

use aws_sdk_acm::types::{Filters, KeyAlgorithm};

use crate::util::{e, s, strs, ts};
use crate::{Ctx, obj};

pub async fn collect(ctx: &Ctx<'_>) {
    let client = aws_sdk_acm::Client::new(&ctx.config);
    // Without a key-type filter ListCertificates answers RSA-2048 certificates only.
    let mut filters = Filters::builder();
    for k in KeyAlgorithm::values() {
        filters = filters.key_types(KeyAlgorithm::from(*k));
    }
    let mut list = client
        .list_certificates()
        .includes(filters.build())
        .into_paginator();
    if let Some(n) = ctx.scan.page_size {
        list = list.page_size(n);
    }
    let Some(summaries) = ctx.ok("ListCertificates", list.items().send().try_collect().await)
    else {
        return;
    };
    futures_util::stream::iter(summaries)
        .map(|summary| {
            let client = client.clone();
            async move {
                let Some(arn) = summary.certificate_arn().map(str::to_string) else {
                    return;
                };
                let Some(d) = ctx.ok(
                    "DescribeCertificate",
                    client
                        .describe_certificate()
                        .certificate_arn(&arn)
                        .send()
                        .await,
                ) else {
                    return;
                };
                let Some(c) = d.certificate() else { return };
                let config = obj([
                    ("certificateArn", json!(arn)),
                    ("domainName", s(c.domain_name())),
                    (
                        "subjectAlternativeNames",
                        strs(c.subject_alternative_names()),
                    ),
                    ("type", e(c.r#type())),
                    ("status", e(c.status())),
                    ("keyAlgorithm", e(c.key_algorithm())),
                    ("signatureAlgorithm", s(c.signature_algorithm())),
                    ("issuer", s(c.issuer())),
                    ("notBefore", ts(c.not_before())),
                    ("notAfter", ts(c.not_after())),
                    ("createdAt", ts(c.created_at())),
                    ("issuedAt", ts(c.issued_at())),
                    ("importedAt", ts(c.imported_at())),
                    ("renewalEligibility", e(c.renewal_eligibility())),
                    (
                        "renewalSummary",
                        c.renewal_summary()
                            .map(|r| obj([("renewalStatus", json!(r.renewal_status().as_str()))]))
                            .unwrap_or(Value::Null),
                    ),
                    ("inUse", json!(!c.in_use_by().is_empty())),
                    ("inUseBy", strs(c.in_use_by())),
                ]);
                let name = c.domain_name().unwrap_or(&arn).to_string();
                ctx.asset("aws.acm.certificate", &arn, &name, Vec::new(), config);
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}
