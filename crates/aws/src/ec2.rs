//! EC2 and VPC (per region).

use std::collections::HashMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{PermissionGroup, Snapshot};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::util::{b, e, i, s, tags, ts};
use crate::{Ctx, Key, key, obj};

/// `DescribeRegions`: the account's enabled regions with their opt-in status.
pub async fn enabled_regions(ctx: &Ctx<'_>) -> Option<Vec<(String, String)>> {
    let client = Client::new(&ctx.config);
    let r = ctx.ok(
        "DescribeRegions",
        client.describe_regions().all_regions(false).send().await,
    )?;
    Some(
        r.regions()
            .iter()
            .filter_map(|r| {
                Some((
                    r.region_name()?.to_string(),
                    r.opt_in_status()
                        .unwrap_or("opt-in-not-required")
                        .to_string(),
                ))
            })
            .collect(),
    )
}

fn tag_list(t: &[aws_sdk_ec2::types::Tag]) -> Vec<(String, String)> {
    tags(t, |x| x.key(), |x| x.value())
}

fn name_of(t: &[aws_sdk_ec2::types::Tag], fallback: &str) -> String {
    t.iter()
        .find(|x| x.key() == Some("Name"))
        .and_then(|x| x.value())
        .unwrap_or(fallback)
        .to_string()
}

pub async fn collect(ctx: &Ctx<'_>) {
    let client = Client::new(&ctx.config);
    futures_util::join!(
        instances(ctx, &client),
        security_groups(ctx, &client),
        network_acls(ctx, &client),
        vpcs(ctx, &client),
        subnets(ctx, &client),
        route_tables(ctx, &client),
        internet_gateways(ctx, &client),
        nat_gateways(ctx, &client),
        async {
            // Snapshots first: each volume's `snapshotSummary` is read off them.
            let snaps = snapshots(ctx, &client).await;
            volumes(ctx, &client, snaps.as_deref()).await;
        },
        ebs_defaults(ctx, &client),
        images(ctx, &client),
        network_interfaces(ctx, &client),
        addresses(ctx, &client),
        vpc_endpoints(ctx, &client),
        vpc_peering_connections(ctx, &client),
    );
}

fn res(ctx: &Ctx<'_>, kind: &str, id: &str) -> String {
    ctx.arn("ec2", &format!("{kind}/{id}"))
}

async fn instances(ctx: &Ctx<'_>, client: &Client) {
    let mut pages = client.describe_instances().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        // EC2 accepts page sizes from 5.
        pages = pages.page_size(n.max(5));
    }
    let Some(reservations) = ctx.ok(
        "DescribeInstances",
        pages.items().send().try_collect().await,
    ) else {
        return;
    };
    for r in reservations {
        for inst in r.instances() {
            let Some(id) = inst.instance_id() else {
                continue;
            };
            let config = obj([
                ("instanceId", json!(id)),
                ("instanceType", e(inst.instance_type())),
                ("imageId", s(inst.image_id())),
                (
                    "state",
                    inst.state()
                        .map(|st| obj([("code", i(st.code())), ("name", e(st.name()))]))
                        .unwrap_or(Value::Null),
                ),
                ("launchTime", ts(inst.launch_time())),
                ("vpcId", s(inst.vpc_id())),
                ("subnetId", s(inst.subnet_id())),
                ("privateIpAddress", s(inst.private_ip_address())),
                ("publicIpAddress", s(inst.public_ip_address())),
                (
                    "securityGroups",
                    Value::Array(
                        inst.security_groups()
                            .iter()
                            .map(|g| {
                                obj([
                                    ("groupId", s(g.group_id())),
                                    ("groupName", s(g.group_name())),
                                ])
                            })
                            .collect(),
                    ),
                ),
                (
                    "iamInstanceProfile",
                    inst.iam_instance_profile()
                        .map(|p| obj([("arn", s(p.arn())), ("id", s(p.id()))]))
                        .unwrap_or(Value::Null),
                ),
                (
                    "metadataOptions",
                    inst.metadata_options()
                        .map(|m| {
                            obj([
                                ("httpTokens", e(m.http_tokens())),
                                ("httpEndpoint", e(m.http_endpoint())),
                                (
                                    "httpPutResponseHopLimit",
                                    i(m.http_put_response_hop_limit()),
                                ),
                                ("state", e(m.state())),
                            ])
                        })
                        .unwrap_or(Value::Null),
                ),
                (
                    "blockDeviceMappings",
                    Value::Array(
                        inst.block_device_mappings()
                            .iter()
                            .map(|d| {
                                obj([
                                    ("deviceName", s(d.device_name())),
                                    (
                                        "ebs",
                                        d.ebs()
                                            .map(|x| {
                                                obj([
                                                    ("volumeId", s(x.volume_id())),
                                                    ("status", e(x.status())),
                                                    (
                                                        "deleteOnTermination",
                                                        b(x.delete_on_termination()),
                                                    ),
                                                ])
                                            })
                                            .unwrap_or(Value::Null),
                                    ),
                                ])
                            })
                            .collect(),
                    ),
                ),
                (
                    "networkInterfaces",
                    Value::Array(
                        inst.network_interfaces()
                            .iter()
                            .map(|n| {
                                obj([
                                    ("networkInterfaceId", s(n.network_interface_id())),
                                    ("subnetId", s(n.subnet_id())),
                                    ("privateIpAddress", s(n.private_ip_address())),
                                ])
                            })
                            .collect(),
                    ),
                ),
                (
                    "monitoring",
                    inst.monitoring()
                        .map(|m| obj([("state", e(m.state()))]))
                        .unwrap_or(Value::Null),
                ),
                ("platform", e(inst.platform())),
            ]);
            let arn = res(ctx, "instance", id);
            let k = ctx.asset(
                "aws.ec2.instance",
                &arn,
                &name_of(inst.tags(), id),
                tag_list(inst.tags()),
                config,
            );
            for g in inst.security_groups() {
                if let Some(gid) = g.group_id() {
                    ctx.edge(
                        &k,
                        key("aws.ec2.security_group", res(ctx, "security-group", gid)),
                        "uses",
                    );
                }
            }
            if let Some(sn) = inst.subnet_id() {
                ctx.edge(
                    &k,
                    key("aws.ec2.subnet", res(ctx, "subnet", sn)),
                    "contained_in",
                );
            }
            if let Some(v) = inst.vpc_id() {
                ctx.edge(&k, key("aws.ec2.vpc", res(ctx, "vpc", v)), "contained_in");
            }
            if let Some(p) = inst.iam_instance_profile().and_then(|p| p.arn()) {
                ctx.edge(&k, key("aws.iam.instance_profile", p), "uses");
            }
        }
    }
}

fn permission(p: &aws_sdk_ec2::types::IpPermission) -> Value {
    let proto = p.ip_protocol().unwrap_or("-1").to_string();
    let all = proto == "-1";
    obj([
        ("ipProtocol", json!(proto)),
        ("fromPort", if all { Value::Null } else { i(p.from_port()) }),
        ("toPort", if all { Value::Null } else { i(p.to_port()) }),
        (
            "ipRanges",
            Value::Array(
                p.ip_ranges()
                    .iter()
                    .map(|r| {
                        obj([
                            ("cidrIp", s(r.cidr_ip())),
                            ("description", s(r.description())),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "ipv6Ranges",
            Value::Array(
                p.ipv6_ranges()
                    .iter()
                    .map(|r| {
                        obj([
                            ("cidrIpv6", s(r.cidr_ipv6())),
                            ("description", s(r.description())),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "userIdGroupPairs",
            Value::Array(
                p.user_id_group_pairs()
                    .iter()
                    .map(|r| obj([("groupId", s(r.group_id())), ("userId", s(r.user_id()))]))
                    .collect(),
            ),
        ),
        (
            "prefixListIds",
            Value::Array(
                p.prefix_list_ids()
                    .iter()
                    .map(|r| obj([("prefixListId", s(r.prefix_list_id()))]))
                    .collect(),
            ),
        ),
    ])
}

async fn security_groups(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "DescribeSecurityGroups",
        client
            .describe_security_groups()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for g in list {
        let Some(id) = g.group_id() else { continue };
        let config = obj([
            ("groupId", json!(id)),
            ("groupName", s(g.group_name())),
            ("description", s(g.description())),
            ("vpcId", s(g.vpc_id())),
            ("ownerId", s(g.owner_id())),
            (
                "ipPermissions",
                Value::Array(g.ip_permissions().iter().map(permission).collect()),
            ),
            (
                "ipPermissionsEgress",
                Value::Array(g.ip_permissions_egress().iter().map(permission).collect()),
            ),
        ]);
        let k = ctx.asset(
            "aws.ec2.security_group",
            &res(ctx, "security-group", id),
            g.group_name().unwrap_or(id),
            tag_list(g.tags()),
            config,
        );
        if let Some(v) = g.vpc_id() {
            ctx.edge(&k, key("aws.ec2.vpc", res(ctx, "vpc", v)), "contained_in");
        }
    }
}

async fn network_acls(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "DescribeNetworkAcls",
        client
            .describe_network_acls()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for a in list {
        let Some(id) = a.network_acl_id() else {
            continue;
        };
        let entries: Vec<Value> = a
            .entries()
            .iter()
            .map(|en| {
                let proto = en.protocol().unwrap_or("-1").to_string();
                obj([
                    ("ruleNumber", i(en.rule_number())),
                    ("ruleAction", e(en.rule_action())),
                    ("egress", b(en.egress())),
                    ("cidrBlock", s(en.cidr_block())),
                    ("ipv6CidrBlock", s(en.ipv6_cidr_block())),
                    (
                        "portRange",
                        match (proto.as_str(), en.port_range()) {
                            ("-1", _) | (_, None) => Value::Null,
                            (_, Some(p)) => obj([("from", i(p.from())), ("to", i(p.to()))]),
                        },
                    ),
                    (
                        "icmpTypeCode",
                        en.icmp_type_code()
                            .map(|c| obj([("type", i(c.r#type())), ("code", i(c.code()))]))
                            .unwrap_or(Value::Null),
                    ),
                    ("protocol", json!(proto)),
                ])
            })
            .collect();
        let config = obj([
            ("networkAclId", json!(id)),
            ("vpcId", s(a.vpc_id())),
            ("isDefault", b(a.is_default())),
            (
                "associations",
                Value::Array(
                    a.associations()
                        .iter()
                        .map(|x| {
                            obj([
                                ("subnetId", s(x.subnet_id())),
                                ("networkAclAssociationId", s(x.network_acl_association_id())),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("entries", Value::Array(entries)),
        ]);
        let k = ctx.asset(
            "aws.ec2.network_acl",
            &res(ctx, "network-acl", id),
            &name_of(a.tags(), id),
            tag_list(a.tags()),
            config,
        );
        if let Some(v) = a.vpc_id() {
            ctx.edge(&k, key("aws.ec2.vpc", res(ctx, "vpc", v)), "contained_in");
        }
        for x in a.associations() {
            if let Some(sn) = x.subnet_id() {
                ctx.edge(
                    &k,
                    key("aws.ec2.subnet", res(ctx, "subnet", sn)),
                    "associated_with",
                );
            }
        }
    }
}

async fn vpcs(ctx: &Ctx<'_>, client: &Client) {
    let (vpcs, flow_logs) = futures_util::join!(
        client
            .describe_vpcs()
            .into_paginator()
            .items()
            .send()
            .try_collect(),
        client
            .describe_flow_logs()
            .into_paginator()
            .items()
            .send()
            .try_collect(),
    );
    let Some(vpcs) = ctx.ok("DescribeVpcs", vpcs) else {
        return;
    };
    // A failed DescribeFlowLogs leaves `flowLogs` absent: the control reports an error, not a
    // false failure.
    let flow_logs = ctx.ok("DescribeFlowLogs", flow_logs);
    let mut by_resource: HashMap<String, Vec<Value>> = HashMap::new();
    for f in flow_logs.iter().flatten() {
        let Some(rid) = f.resource_id() else { continue };
        by_resource.entry(rid.to_string()).or_default().push(obj([
            ("flowLogId", s(f.flow_log_id())),
            ("flowLogStatus", s(f.flow_log_status())),
            ("trafficType", e(f.traffic_type())),
            ("logDestinationType", e(f.log_destination_type())),
            ("logDestination", s(f.log_destination())),
            ("logGroupName", s(f.log_group_name())),
            ("deliverLogsStatus", s(f.deliver_logs_status())),
        ]));
    }
    for v in vpcs {
        let Some(id) = v.vpc_id() else { continue };
        let config = obj([
            ("vpcId", json!(id)),
            ("cidrBlock", s(v.cidr_block())),
            ("isDefault", b(v.is_default())),
            ("state", e(v.state())),
            ("instanceTenancy", e(v.instance_tenancy())),
            ("dhcpOptionsId", s(v.dhcp_options_id())),
            ("ownerId", s(v.owner_id())),
            (
                "cidrBlockAssociationSet",
                Value::Array(
                    v.cidr_block_association_set()
                        .iter()
                        .map(|c| {
                            obj([
                                ("associationId", s(c.association_id())),
                                ("cidrBlock", s(c.cidr_block())),
                                (
                                    "cidrBlockState",
                                    c.cidr_block_state()
                                        .map(|st| obj([("state", e(st.state()))]))
                                        .unwrap_or(Value::Null),
                                ),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "ipv6CidrBlockAssociationSet",
                Value::Array(
                    v.ipv6_cidr_block_association_set()
                        .iter()
                        .map(|c| {
                            obj([
                                ("associationId", s(c.association_id())),
                                ("ipv6CidrBlock", s(c.ipv6_cidr_block())),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "flowLogs",
                if flow_logs.is_some() {
                    Value::Array(by_resource.remove(id).unwrap_or_default())
                } else {
                    Value::Null
                },
            ),
        ]);
        ctx.asset(
            "aws.ec2.vpc",
            &res(ctx, "vpc", id),
            &name_of(v.tags(), id),
            tag_list(v.tags()),
            config,
        );
    }
}

async fn subnets(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "DescribeSubnets",
        client
            .describe_subnets()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for sn in list {
        let Some(id) = sn.subnet_id() else { continue };
        let config = obj([
            ("subnetId", json!(id)),
            ("subnetArn", s(sn.subnet_arn())),
            ("vpcId", s(sn.vpc_id())),
            ("cidrBlock", s(sn.cidr_block())),
            ("availabilityZone", s(sn.availability_zone())),
            ("mapPublicIpOnLaunch", b(sn.map_public_ip_on_launch())),
            ("defaultForAz", b(sn.default_for_az())),
            ("state", e(sn.state())),
            (
                "availableIpAddressCount",
                i(sn.available_ip_address_count()),
            ),
        ]);
        let k = ctx.asset(
            "aws.ec2.subnet",
            &res(ctx, "subnet", id),
            &name_of(sn.tags(), id),
            tag_list(sn.tags()),
            config,
        );
        if let Some(v) = sn.vpc_id() {
            ctx.edge(&k, key("aws.ec2.vpc", res(ctx, "vpc", v)), "contained_in");
        }
    }
}

async fn route_tables(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "DescribeRouteTables",
        client
            .describe_route_tables()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for rt in list {
        let Some(id) = rt.route_table_id() else {
            continue;
        };
        let routes: Vec<Value> = rt
            .routes()
            .iter()
            .map(|r| {
                obj([
                    ("destinationCidrBlock", s(r.destination_cidr_block())),
                    (
                        "destinationIpv6CidrBlock",
                        s(r.destination_ipv6_cidr_block()),
                    ),
                    ("gatewayId", s(r.gateway_id())),
                    ("natGatewayId", s(r.nat_gateway_id())),
                    ("vpcPeeringConnectionId", s(r.vpc_peering_connection_id())),
                    ("transitGatewayId", s(r.transit_gateway_id())),
                    ("state", e(r.state())),
                ])
            })
            .collect();
        let config = obj([
            ("routeTableId", json!(id)),
            ("vpcId", s(rt.vpc_id())),
            ("routes", Value::Array(routes)),
            (
                "associations",
                Value::Array(
                    rt.associations()
                        .iter()
                        .map(|a| obj([("subnetId", s(a.subnet_id())), ("main", b(a.main()))]))
                        .collect(),
                ),
            ),
        ]);
        let k = ctx.asset(
            "aws.ec2.route_table",
            &res(ctx, "route-table", id),
            &name_of(rt.tags(), id),
            tag_list(rt.tags()),
            config,
        );
        if let Some(v) = rt.vpc_id() {
            ctx.edge(&k, key("aws.ec2.vpc", res(ctx, "vpc", v)), "contained_in");
        }
        for a in rt.associations() {
            if let Some(sn) = a.subnet_id() {
                ctx.edge(
                    &k,
                    key("aws.ec2.subnet", res(ctx, "subnet", sn)),
                    "associated_with",
                );
            }
        }
        for r in rt.routes() {
            if let Some(g) = r.gateway_id().filter(|g| g.starts_with("igw-")) {
                ctx.edge(
                    &k,
                    key("aws.ec2.internet_gateway", res(ctx, "internet-gateway", g)),
                    "routes_to",
                );
            }
            if let Some(p) = r.vpc_peering_connection_id() {
                ctx.edge(
                    &k,
                    key(
                        "aws.ec2.vpc_peering_connection",
                        res(ctx, "vpc-peering-connection", p),
                    ),
                    "routes_to",
                );
            }
            if let Some(n) = r.nat_gateway_id() {
                ctx.edge(
                    &k,
                    key("aws.ec2.nat_gateway", res(ctx, "natgateway", n)),
                    "routes_to",
                );
            }
        }
    }
}

async fn internet_gateways(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "DescribeInternetGateways",
        client
            .describe_internet_gateways()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for g in list {
        let Some(id) = g.internet_gateway_id() else {
            continue;
        };
        let config = obj([
            ("internetGatewayId", json!(id)),
            ("ownerId", s(g.owner_id())),
            (
                "attachments",
                Value::Array(
                    g.attachments()
                        .iter()
                        .map(|a| obj([("vpcId", s(a.vpc_id())), ("state", e(a.state()))]))
                        .collect(),
                ),
            ),
        ]);
        let k = ctx.asset(
            "aws.ec2.internet_gateway",
            &res(ctx, "internet-gateway", id),
            &name_of(g.tags(), id),
            tag_list(g.tags()),
            config,
        );
        for a in g.attachments() {
            if let Some(v) = a.vpc_id() {
                ctx.edge(&k, key("aws.ec2.vpc", res(ctx, "vpc", v)), "attached_to");
            }
        }
    }
}

async fn nat_gateways(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "DescribeNatGateways",
        client
            .describe_nat_gateways()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for g in list {
        let Some(id) = g.nat_gateway_id() else {
            continue;
        };
        let config = obj([
            ("natGatewayId", json!(id)),
            ("vpcId", s(g.vpc_id())),
            ("subnetId", s(g.subnet_id())),
            ("state", e(g.state())),
            ("connectivityType", e(g.connectivity_type())),
            ("createTime", ts(g.create_time())),
            (
                "natGatewayAddresses",
                Value::Array(
                    g.nat_gateway_addresses()
                        .iter()
                        .map(|a| {
                            obj([
                                ("publicIp", s(a.public_ip())),
                                ("privateIp", s(a.private_ip())),
                                ("allocationId", s(a.allocation_id())),
                                ("networkInterfaceId", s(a.network_interface_id())),
                            ])
                        })
                        .collect(),
                ),
            ),
        ]);
        let k = ctx.asset(
            "aws.ec2.nat_gateway",
            &res(ctx, "natgateway", id),
            &name_of(g.tags(), id),
            tag_list(g.tags()),
            config,
        );
        if let Some(sn) = g.subnet_id() {
            ctx.edge(
                &k,
                key("aws.ec2.subnet", res(ctx, "subnet", sn)),
                "contained_in",
            );
        }
    }
}

async fn volumes(ctx: &Ctx<'_>, client: &Client, snaps: Option<&[Snapshot]>) {
    let mut pages = client.describe_volumes().into_paginator();
    if let Some(n) = ctx.scan.page_size {
        pages = pages.page_size(n.max(5));
    }
    let Some(list) = ctx.ok("DescribeVolumes", pages.items().send().try_collect().await) else {
        return;
    };
    for v in list {
        let Some(id) = v.volume_id() else { continue };
        let config = obj([
            ("volumeId", json!(id)),
            ("size", i(v.size())),
            ("volumeType", e(v.volume_type())),
            ("encrypted", b(v.encrypted())),
            ("kmsKeyId", s(v.kms_key_id())),
            ("state", e(v.state())),
            ("availabilityZone", s(v.availability_zone())),
            ("createTime", ts(v.create_time())),
            ("snapshotId", s(v.snapshot_id().filter(|x| !x.is_empty()))),
            (
                "snapshotSummary",
                snaps
                    .map(|list| snapshot_summary(list, id))
                    .unwrap_or(Value::Null),
            ),
            (
                "attachments",
                Value::Array(
                    v.attachments()
                        .iter()
                        .map(|a| {
                            obj([
                                ("instanceId", s(a.instance_id())),
                                ("device", s(a.device())),
                                ("state", e(a.state())),
                            ])
                        })
                        .collect(),
                ),
            ),
        ]);
        let k: Key = ctx.asset(
            "aws.ec2.volume",
            &res(ctx, "volume", id),
            &name_of(v.tags(), id),
            tag_list(v.tags()),
            config,
        );
        for a in v.attachments() {
            if let Some(inst) = a.instance_id() {
                ctx.edge(
                    &k,
                    key("aws.ec2.instance", res(ctx, "instance", inst)),
                    "attached_to",
                );
            }
        }
        if let Some(kms) = v.kms_key_id() {
            ctx.edge(
                &k,
                crate::services::kms_key_ref(ctx, kms, &ctx.region),
                "encrypted_by",
            );
        }
    }
}

/// `GetEbsEncryptionByDefault` + `GetEbsDefaultKmsKeyId` into the region's asset.
async fn ebs_defaults(ctx: &Ctx<'_>, client: &Client) {
    let (enc, kms) = futures_util::join!(
        client.get_ebs_encryption_by_default().send(),
        client.get_ebs_default_kms_key_id().send(),
    );
    if let Some(r) = ctx.ok("GetEbsEncryptionByDefault", enc) {
        ctx.region_field(
            "ebsEncryptionByDefault",
            json!(r.ebs_encryption_by_default().unwrap_or(false)),
        );
    }
    if let Some(r) = ctx.ok("GetEbsDefaultKmsKeyId", kms) {
        ctx.region_field("ebsDefaultKmsKeyId", s(r.kms_key_id()));
    }
}

/// `{count, latestSnapshotId?, latestStartTime?}` of the completed snapshots of a volume.
fn snapshot_summary(list: &[Snapshot], volume: &str) -> Value {
    let mine: Vec<&Snapshot> = list
        .iter()
        .filter(|s| s.volume_id() == Some(volume))
        .filter(|s| s.state().map(|x| x.as_str()) == Some("completed"))
        .collect();
    let latest = mine
        .iter()
        .filter(|s| s.start_time().is_some())
        .max_by_key(|s| s.start_time().map(|t| (t.secs(), t.subsec_nanos())));
    obj([
        ("count", json!(mine.len())),
        ("latestSnapshotId", s(latest.and_then(|x| x.snapshot_id()))),
        ("latestStartTime", ts(latest.and_then(|x| x.start_time()))),
    ])
}

/// ARN of a snapshot or an image: they carry no account in their ARN.
fn unowned(ctx: &Ctx<'_>, kind: &str, id: &str) -> String {
    format!("arn:{}:ec2:{}::{kind}/{id}", ctx.scan.partition, ctx.region)
}

/// EBS snapshots owned by the account, with who may create volumes from them.
async fn snapshots(ctx: &Ctx<'_>, client: &Client) -> Option<Vec<Snapshot>> {
    let list: Vec<Snapshot> = ctx.ok(
        "DescribeSnapshots",
        client
            .describe_snapshots()
            .owner_ids("self")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    )?;
    futures_util::stream::iter(list.iter())
        .map(|snap| async move {
            let Some(id) = snap.snapshot_id() else { return };
            // A failed attribute call leaves `createVolumePermissions` and `public` absent.
            let perms = ctx
                .ok(
                    "DescribeSnapshotAttribute",
                    client
                        .describe_snapshot_attribute()
                        .snapshot_id(id)
                        .attribute(
                            aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission,
                        )
                        .send()
                        .await,
                )
                .map(|r| r.create_volume_permissions().to_vec());
            let public = perms
                .as_ref()
                .map(|p| json!(p.iter().any(|x| x.group() == Some(&PermissionGroup::All))))
                .unwrap_or(Value::Null);
            let config = obj([
                ("snapshotId", json!(id)),
                ("volumeId", s(snap.volume_id())),
                ("volumeSize", i(snap.volume_size())),
                ("state", e(snap.state())),
                ("startTime", ts(snap.start_time())),
                (
                    "description",
                    s(snap.description().filter(|d| !d.is_empty())),
                ),
                ("ownerId", s(snap.owner_id())),
                ("encrypted", b(snap.encrypted())),
                ("kmsKeyId", s(snap.kms_key_id())),
                ("storageTier", e(snap.storage_tier())),
                (
                    "createVolumePermissions",
                    perms
                        .map(|p| {
                            Value::Array(
                                p.iter()
                                    .map(|x| {
                                        obj([("group", e(x.group())), ("userId", s(x.user_id()))])
                                    })
                                    .collect(),
                            )
                        })
                        .unwrap_or(Value::Null),
                ),
                ("public", public),
            ]);
            let k = ctx.asset(
                "aws.ec2.snapshot",
                &unowned(ctx, "snapshot", id),
                &name_of(snap.tags(), id),
                tag_list(snap.tags()),
                config,
            );
            if let Some(v) = snap.volume_id() {
                ctx.edge(
                    &k,
                    key("aws.ec2.volume", res(ctx, "volume", v)),
                    "snapshot_of",
                );
            }
            if let Some(kms) = snap.kms_key_id() {
                ctx.edge(
                    &k,
                    crate::services::kms_key_ref(ctx, kms, &ctx.region),
                    "encrypted_by",
                );
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    Some(list)
}

/// AMIs owned by the account, with their launch permissions.
async fn images(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "DescribeImages",
        client
            .describe_images()
            .owners("self")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    futures_util::stream::iter(list)
        .map(|img| async move {
            let Some(id) = img.image_id() else { return };
            let perms = ctx
                .ok(
                    "DescribeImageAttribute",
                    client
                        .describe_image_attribute()
                        .image_id(id)
                        .attribute(aws_sdk_ec2::types::ImageAttributeName::LaunchPermission)
                        .send()
                        .await,
                )
                .map(|r| {
                    Value::Array(
                        r.launch_permissions()
                            .iter()
                            .map(|x| {
                                obj([
                                    ("group", e(x.group())),
                                    ("userId", s(x.user_id())),
                                    ("organizationArn", s(x.organization_arn())),
                                    ("organizationalUnitArn", s(x.organizational_unit_arn())),
                                ])
                            })
                            .collect(),
                    )
                })
                .unwrap_or(Value::Null);
            let snapshots: Vec<&str> = img
                .block_device_mappings()
                .iter()
                .filter_map(|m| m.ebs().and_then(|x| x.snapshot_id()))
                .collect();
            let config = obj([
                ("imageId", json!(id)),
                ("name", s(img.name())),
                (
                    "description",
                    s(img.description().filter(|d| !d.is_empty())),
                ),
                ("state", e(img.state())),
                ("public", json!(img.public().unwrap_or(false))),
                ("ownerId", s(img.owner_id())),
                ("creationDate", s(img.creation_date())),
                ("platformDetails", s(img.platform_details())),
                ("architecture", e(img.architecture())),
                ("imageType", e(img.image_type())),
                ("rootDeviceType", e(img.root_device_type())),
                ("imdsSupport", e(img.imds_support())),
                ("blockDeviceSnapshotIds", crate::util::strs(&snapshots)),
                ("launchPermissions", perms),
            ]);
            let k = ctx.asset(
                "aws.ec2.image",
                &unowned(ctx, "image", id),
                img.name().unwrap_or(id),
                tag_list(img.tags()),
                config,
            );
            for snap in snapshots {
                ctx.edge(
                    &k,
                    key("aws.ec2.snapshot", unowned(ctx, "snapshot", snap)),
                    "uses",
                );
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

async fn network_interfaces(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "DescribeNetworkInterfaces",
        client
            .describe_network_interfaces()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for n in list {
        let Some(id) = n.network_interface_id() else {
            continue;
        };
        let config = obj([
            ("networkInterfaceId", json!(id)),
            ("interfaceType", e(n.interface_type())),
            ("status", e(n.status())),
            ("description", s(n.description().filter(|d| !d.is_empty()))),
            ("vpcId", s(n.vpc_id())),
            ("subnetId", s(n.subnet_id())),
            ("availabilityZone", s(n.availability_zone())),
            ("privateIpAddress", s(n.private_ip_address())),
            ("ownerId", s(n.owner_id())),
            ("requesterManaged", b(n.requester_managed())),
            ("sourceDestCheck", b(n.source_dest_check())),
            (
                "association",
                n.association()
                    .map(|a| {
                        obj([
                            ("publicIp", s(a.public_ip())),
                            ("publicDnsName", s(a.public_dns_name())),
                            ("ipOwnerId", s(a.ip_owner_id())),
                            ("allocationId", s(a.allocation_id())),
                        ])
                    })
                    .unwrap_or(Value::Null),
            ),
            (
                "attachment",
                n.attachment()
                    .map(|a| {
                        obj([
                            ("attachmentId", s(a.attachment_id())),
                            ("instanceId", s(a.instance_id())),
                            ("instanceOwnerId", s(a.instance_owner_id())),
                            ("deviceIndex", i(a.device_index())),
                            ("status", e(a.status())),
                            ("deleteOnTermination", b(a.delete_on_termination())),
                        ])
                    })
                    .unwrap_or(Value::Null),
            ),
            (
                "groups",
                Value::Array(
                    n.groups()
                        .iter()
                        .map(|g| {
                            obj([
                                ("groupId", s(g.group_id())),
                                ("groupName", s(g.group_name())),
                            ])
                        })
                        .collect(),
                ),
            ),
        ]);
        let k = ctx.asset(
            "aws.ec2.network_interface",
            &res(ctx, "network-interface", id),
            &name_of(n.tag_set(), id),
            tag_list(n.tag_set()),
            config,
        );
        if let Some(inst) = n.attachment().and_then(|a| a.instance_id()) {
            ctx.edge(
                &key("aws.ec2.instance", res(ctx, "instance", inst)),
                k.clone(),
                "contains",
            );
        }
        for g in n.groups() {
            if let Some(gid) = g.group_id() {
                ctx.edge(
                    &k,
                    key("aws.ec2.security_group", res(ctx, "security-group", gid)),
                    "uses",
                );
            }
        }
        if let Some(sn) = n.subnet_id() {
            ctx.edge(
                &k,
                key("aws.ec2.subnet", res(ctx, "subnet", sn)),
                "contained_in",
            );
        }
    }
}

/// Elastic IP addresses (`DescribeAddresses` has no pagination).
async fn addresses(ctx: &Ctx<'_>, client: &Client) {
    let Some(r) = ctx.ok(
        "DescribeAddresses",
        client.describe_addresses().send().await,
    ) else {
        return;
    };
    for a in r.addresses() {
        let Some(ip) = a.public_ip() else { continue };
        let id = a.allocation_id().unwrap_or(ip);
        let config = obj([
            ("allocationId", s(a.allocation_id())),
            ("publicIp", json!(ip)),
            ("domain", e(a.domain())),
            ("associationId", s(a.association_id())),
            ("instanceId", s(a.instance_id().filter(|x| !x.is_empty()))),
            ("networkInterfaceId", s(a.network_interface_id())),
            ("networkInterfaceOwnerId", s(a.network_interface_owner_id())),
            ("privateIpAddress", s(a.private_ip_address())),
            ("networkBorderGroup", s(a.network_border_group())),
            ("publicIpv4Pool", s(a.public_ipv4_pool())),
        ]);
        let k = ctx.asset(
            "aws.ec2.eip",
            &res(ctx, "elastic-ip", id),
            &name_of(a.tags(), ip),
            tag_list(a.tags()),
            config,
        );
        if let Some(inst) = a.instance_id().filter(|x| !x.is_empty()) {
            ctx.edge(
                &k,
                key("aws.ec2.instance", res(ctx, "instance", inst)),
                "attached_to",
            );
        }
        if let Some(eni) = a.network_interface_id() {
            ctx.edge(
                &k,
                key(
                    "aws.ec2.network_interface",
                    res(ctx, "network-interface", eni),
                ),
                "attached_to",
            );
        }
    }
}

async fn vpc_endpoints(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "DescribeVpcEndpoints",
        client
            .describe_vpc_endpoints()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for ep in list {
        let Some(id) = ep.vpc_endpoint_id() else {
            continue;
        };
        let config = obj([
            ("vpcEndpointId", json!(id)),
            ("vpcEndpointType", e(ep.vpc_endpoint_type())),
            ("vpcId", s(ep.vpc_id())),
            ("serviceName", s(ep.service_name())),
            ("state", e(ep.state())),
            (
                "policyDocument",
                crate::util::document(ep.policy_document()),
            ),
            ("routeTableIds", crate::util::strs(ep.route_table_ids())),
            ("subnetIds", crate::util::strs(ep.subnet_ids())),
            (
                "groups",
                Value::Array(
                    ep.groups()
                        .iter()
                        .map(|g| {
                            obj([
                                ("groupId", s(g.group_id())),
                                ("groupName", s(g.group_name())),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("privateDnsEnabled", b(ep.private_dns_enabled())),
            ("requesterManaged", b(ep.requester_managed())),
            ("ownerId", s(ep.owner_id())),
            ("creationTimestamp", ts(ep.creation_timestamp())),
        ]);
        let k = ctx.asset(
            "aws.ec2.vpc_endpoint",
            &res(ctx, "vpc-endpoint", id),
            &name_of(ep.tags(), id),
            tag_list(ep.tags()),
            config,
        );
        if let Some(v) = ep.vpc_id() {
            ctx.edge(&k, key("aws.ec2.vpc", res(ctx, "vpc", v)), "contained_in");
        }
        for g in ep.groups() {
            if let Some(gid) = g.group_id() {
                ctx.edge(
                    &k,
                    key("aws.ec2.security_group", res(ctx, "security-group", gid)),
                    "uses",
                );
            }
        }
        for rt in ep.route_table_ids() {
            ctx.edge(
                &k,
                key("aws.ec2.route_table", res(ctx, "route-table", rt)),
                "associated_with",
            );
        }
    }
}

fn peering_side(v: Option<&aws_sdk_ec2::types::VpcPeeringConnectionVpcInfo>) -> Value {
    v.map(|x| {
        obj([
            ("vpcId", s(x.vpc_id())),
            ("ownerId", s(x.owner_id())),
            ("region", s(x.region())),
            ("cidrBlock", s(x.cidr_block())),
        ])
    })
    .unwrap_or(Value::Null)
}

async fn vpc_peering_connections(ctx: &Ctx<'_>, client: &Client) {
    let Some(list) = ctx.ok(
        "DescribeVpcPeeringConnections",
        client
            .describe_vpc_peering_connections()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await,
    ) else {
        return;
    };
    for p in list {
        let Some(id) = p.vpc_peering_connection_id() else {
            continue;
        };
        let config = obj([
            ("vpcPeeringConnectionId", json!(id)),
            (
                "status",
                p.status()
                    .map(|st| obj([("code", e(st.code())), ("message", s(st.message()))]))
                    .unwrap_or(Value::Null),
            ),
            ("requesterVpcInfo", peering_side(p.requester_vpc_info())),
            ("accepterVpcInfo", peering_side(p.accepter_vpc_info())),
            ("expirationTime", ts(p.expiration_time())),
        ]);
        let k = ctx.asset(
            "aws.ec2.vpc_peering_connection",
            &res(ctx, "vpc-peering-connection", id),
            &name_of(p.tags(), id),
            tag_list(p.tags()),
            config,
        );
        // Both sides, when they are VPCs of this account in this region.
        for side in [p.requester_vpc_info(), p.accepter_vpc_info()]
            .into_iter()
            .flatten()
        {
            let local = side.owner_id() == Some(ctx.account())
                && side.region().is_none_or(|r| r == ctx.region);
            if let (true, Some(v)) = (local, side.vpc_id()) {
                ctx.edge(
                    &k,
                    key("aws.ec2.vpc", res(ctx, "vpc", v)),
                    "associated_with",
                );
            }
        }
    }
}
