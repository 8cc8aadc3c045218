//! Elastic Load Balancing v2 (per region): application, network and gateway load balancers with
//! their attributes and listeners.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::util::{e, i, s, strs, ts};
use crate::{Ctx, key, obj};

fn listener_config(l: &aws_sdk_elasticloadbalancingv2::types::Listener) -> Value {
    obj([
        ("listenerArn", s(l.listener_arn())),
        ("loadBalancerArn", s(l.load_balancer_arn())),
        ("port", i(l.port())),
        ("protocol", e(l.protocol())),
        ("sslPolicy", s(l.ssl_policy())),
        (
            "certificates",
            Value::Array(
                l.certificates()
                    .iter()
                    .map(|c| obj([("certificateArn", s(c.certificate_arn()))]))
                    .collect(),
            ),
        ),
        (
            "defaultActions",
            Value::Array(
                l.default_actions()
                    .iter()
                    .map(|a| {
                        obj([
                            ("type", e(a.r#type())),
                            ("targetGroupArn", s(a.target_group_arn())),
                            (
                                "redirectConfig",
                                a.redirect_config()
                                    .map(|r| {
                                        obj([
                                            ("protocol", s(r.protocol())),
                                            ("port", s(r.port())),
                                            ("statusCode", e(r.status_code())),
                                        ])
                                    })
                                    .unwrap_or(Value::Null),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

pub async fn collect(ctx: &Ctx<'_>) {
    let client = aws_sdk_elasticloadbalancingv2::Client::new(&ctx.config);
    let Some(lbs) = ctx.ok(
        "DescribeLoadBalancers",
        client
            .describe_load_balancers()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    futures_util::stream::iter(lbs)
        .map(|lb| {
            let client = client.clone();
            async move {
                let Some(arn) = lb.load_balancer_arn().map(str::to_string) else {
                    return;
                };
                let (attributes, listeners) = futures_util::join!(
                    client
                        .describe_load_balancer_attributes()
                        .load_balancer_arn(&arn)
                        .send(),
                    client
                        .describe_listeners()
                        .load_balancer_arn(&arn)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect(),
                );
                let attributes = ctx
                    .ok("DescribeLoadBalancerAttributes", attributes)
                    .map(|a| {
                        Value::Array(
                            a.attributes()
                                .iter()
                                .map(|x| obj([("key", s(x.key())), ("value", s(x.value()))]))
                                .collect(),
                        )
                    })
                    .unwrap_or(Value::Null);
                let listeners = ctx.ok("DescribeListeners", listeners);
                let name = lb.load_balancer_name().unwrap_or(&arn).to_string();
                let config = obj([
                    ("loadBalancerName", s(lb.load_balancer_name())),
                    ("loadBalancerArn", json!(arn)),
                    ("type", e(lb.r#type())),
                    ("scheme", e(lb.scheme())),
                    (
                        "state",
                        lb.state()
                            .map(|st| obj([("code", e(st.code()))]))
                            .unwrap_or(Value::Null),
                    ),
                    ("vpcId", s(lb.vpc_id())),
                    ("dnsName", s(lb.dns_name())),
                    ("ipAddressType", e(lb.ip_address_type())),
                    ("createdTime", ts(lb.created_time())),
                    ("securityGroups", strs(lb.security_groups())),
                    (
                        "availabilityZones",
                        Value::Array(
                            lb.availability_zones()
                                .iter()
                                .map(|z| {
                                    obj([
                                        ("zoneName", s(z.zone_name())),
                                        ("subnetId", s(z.subnet_id())),
                                    ])
                                })
                                .collect(),
                        ),
                    ),
                    ("attributes", attributes),
                    (
                        "listeners",
                        listeners
                            .as_ref()
                            .map(|ls| Value::Array(ls.iter().map(listener_config).collect()))
                            .unwrap_or(Value::Null),
                    ),
                ]);
                let k = ctx.asset("aws.elbv2.load_balancer", &arn, &name, Vec::new(), config);
                for g in lb.security_groups() {
                    ctx.edge(
                        &k,
                        key(
                            "aws.ec2.security_group",
                            ctx.arn("ec2", &format!("security-group/{g}")),
                        ),
                        "uses",
                    );
                }
                for l in listeners.iter().flatten() {
                    let Some(larn) = l.listener_arn() else {
                        continue;
                    };
                    let label = format!(
                        "{name}:{}",
                        l.port().map(|p| p.to_string()).unwrap_or_default()
                    );
                    let lk = ctx.asset(
                        "aws.elbv2.listener",
                        larn,
                        &label,
                        Vec::new(),
                        listener_config(l),
                    );
                    ctx.edge(&k, lk.clone(), "contains");
                    for c in l.certificates() {
                        if let Some(carn) = c.certificate_arn() {
                            ctx.edge(&lk, key("aws.acm.certificate", carn), "uses");
                        }
                    }
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}
