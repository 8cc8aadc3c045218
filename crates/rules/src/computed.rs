//! Computed properties: facts about an asset that need its neighbours, derived once per
//! evaluation from the inventory and its relationship graph, and readable in CEL as
//! `resource.computed.<name>` (missing properties read as absent: guard with `has()`).
//!
//! | type | property | meaning |
//! | --- | --- | --- |
//! | `aws.ec2.instance` | `internet_exposed` | running, has a public IP, its subnet routes `0.0.0.0/0` to an internet gateway, its network ACL lets internet traffic in, and a security group opens at least one port to `0.0.0.0/0` or `::/0` |
//! | `aws.ec2.instance` | `exposed_ports` | the `[from, to]` port ranges (protocol `-1` is `[0, 65535]`) its security groups open to the internet |
//! | `aws.ec2.instance` | `admin_role` | its instance role grants administrative privileges |
//! | `aws.rds.db_instance` | `internet_exposed` | publicly accessible and a security group opens its port to the internet |
//! | `aws.s3.bucket` | `public` | public access is not fully blocked and the policy allows anonymous access without a condition, or the ACL grants AllUsers / AuthenticatedUsers |
//! | `aws.iam.user`, `aws.iam.role`, `aws.iam.group` | `admin` | an attached or inline policy (a user's also through its groups) allows `*` on `*` |
//! | same | `privilege_escalation` | the allowed actions include a known escalation path (e.g. `iam:PassRole` with `lambda:CreateFunction` or `ec2:RunInstances`, `iam:CreatePolicyVersion`, `iam:AttachUserPolicy`, …) |
//! | `aws.ec2.security_group` | `open_to_internet`, `attached_running_instances` | a rule admits `0.0.0.0/0` or `::/0`; the number of running instances using it |
//! | principals | `reads_all_buckets`, `readable_buckets` | an allowed `s3:GetObject` (directly or through `s3:*`, `s3:Get*`, `*`) on every bucket, or the names of the buckets it names (at most 50) |
//! | `aws.s3.bucket` | `readers`, `reader_names` | how many principals of the inventory can read its objects, and up to 20 of their names |
//! | GCP and Azure | `internet_exposed`, `exposed_ports`, `public` | see `exposure.rs` (instances and VMs through firewall rules and network security groups; GCP buckets and Azure storage accounts) |
//! | `aws.ec2.instance` | `reads_sensitive_data` | its role can read a bucket tagged `data-classification` (or `classification`) = confidential, restricted or sensitive |

use serde_json::{Map, Value as Json, json};

use crate::graph::{Graph, Step};

const ANY_V4: &str = "0.0.0.0/0";
const ANY_V6: &str = "::/0";

/// Actions that, alone or together, let a principal grant itself more privileges.
const ESCALATION_SINGLE: &[&str] = &[
    "iam:createpolicyversion",
    "iam:setdefaultpolicyversion",
    "iam:attachuserpolicy",
    "iam:attachgrouppolicy",
    "iam:attachrolepolicy",
    "iam:putuserpolicy",
    "iam:putgrouppolicy",
    "iam:putrolepolicy",
    "iam:addusertogroup",
    "iam:updateassumerolepolicy",
    "iam:createaccesskey",
    "iam:createloginprofile",
    "iam:updateloginprofile",
];
const ESCALATION_WITH_PASSROLE: &[&str] = &[
    "lambda:createfunction",
    "ec2:runinstances",
    "cloudformation:createstack",
    "glue:createdevendpoint",
    "datapipeline:createpipeline",
];

fn step(kind: &str, incoming: bool) -> Step {
    Step {
        kind: Some(kind.to_string()),
        incoming,
    }
}

/// Computes every asset's properties; `out[i]` belongs to the asset at graph position `i`.
pub(crate) fn compute(graph: &Graph<'_>) -> Vec<Json> {
    let n = graph.asset_count();
    let mut out: Vec<Json> = vec![Json::Null; n];
    // Principals first: instances read their role's `admin`.
    let mut admin = vec![false; n];
    let mut reach: Vec<Option<S3Reach>> = vec![None; n];
    for i in 0..n {
        let a = graph.asset_at(i as u32);
        let kind = a.resource_type.as_str();
        if matches!(kind, "aws.iam.user" | "aws.iam.role" | "aws.iam.group") {
            let actions = principal_actions(graph, i as u32);
            let is_admin = actions.iter().any(|(act, res)| act == "*" && res == "*");
            admin[i] = is_admin;
            reach[i] = Some(s3_reach(&actions));
            // Only grants that can touch IAM or compute resources matter for escalation.
            let names: Vec<&str> = actions
                .iter()
                .filter(|(_, r)| {
                    r == "*"
                        || [
                            "arn:aws:iam:",
                            "arn:aws:lambda:",
                            "arn:aws:ec2:",
                            "arn:aws:cloudformation:",
                            "arn:aws:glue:",
                            "arn:aws:datapipeline:",
                        ]
                        .iter()
                        .any(|p| r.starts_with(p))
                })
                .map(|(a, _)| a.as_str())
                .collect();
            let r = reach[i].as_ref().map(|r| (r.all, r.buckets.clone()));
            let (all, buckets) = r.unwrap_or_default();
            out[i] = json!({
                "admin": is_admin,
                "privilege_escalation": is_admin || escalation(&names),
                "reads_all_buckets": all,
                "readable_buckets": buckets.iter().take(50).collect::<Vec<_>>(),
            });
        }
    }
    // Who can read which bucket: readers of every bucket, and per bucket name the others.
    let mut all_readers: Vec<&str> = Vec::new();
    let mut by_bucket: std::collections::HashMap<&str, Vec<&str>> =
        std::collections::HashMap::new();
    for (i, r) in reach.iter().enumerate() {
        let Some(r) = r else { continue };
        let who = graph.asset_at(i as u32).name.as_str();
        if r.all {
            all_readers.push(who);
        } else {
            for b in &r.buckets {
                by_bucket.entry(b.as_str()).or_default().push(who);
            }
        }
    }
    let sensitive: std::collections::HashSet<&str> = (0..n)
        .map(|i| graph.asset_at(i as u32))
        .filter(|a| a.resource_type.as_str() == "aws.s3.bucket" && is_sensitive(a))
        .map(bucket_name)
        .collect();
    for (i, slot) in out.iter_mut().enumerate() {
        let pos = i as u32;
        let a = graph.asset_at(pos);
        let props = match a.resource_type.as_str() {
            "aws.ec2.instance" => instance(graph, pos, &admin).map(|mut m| {
                let reads = graph
                    .follow(pos, &[step("uses", false)])
                    .iter()
                    .filter(|r| r.resource_type.as_str() == "aws.iam.role")
                    .filter_map(|r| graph.position(r))
                    .filter_map(|p| reach[p as usize].as_ref())
                    .any(|r| {
                        (r.all && !sensitive.is_empty())
                            || r.buckets.iter().any(|b| sensitive.contains(b.as_str()))
                    });
                m.insert("reads_sensitive_data".into(), Json::Bool(reads));
                m
            }),
            "aws.rds.db_instance" => database(graph, pos),
            "aws.s3.bucket" => {
                let mut m = bucket(&a.config);
                let explicit = by_bucket.get(bucket_name(a)).map_or(&[][..], Vec::as_slice);
                m.insert("readers".into(), json!(all_readers.len() + explicit.len()));
                m.insert(
                    "reader_names".into(),
                    json!(
                        explicit
                            .iter()
                            .chain(all_readers.iter())
                            .take(20)
                            .collect::<Vec<_>>()
                    ),
                );
                Some(m)
            }
            "aws.ec2.security_group" => Some(security_group(graph, pos)),
            "gcp.compute.instance" => Some(crate::exposure::gcp_instance(graph, pos)),
            "gcp.storage.bucket" => Some(crate::exposure::gcp_bucket(&a.config)),
            "azure.compute.vm" => Some(crate::exposure::azure_vm(graph, pos)),
            "azure.storage.account" => Some(crate::exposure::azure_storage(&a.config)),
            _ => None,
        };
        if let Some(p) = props {
            *slot = Json::Object(p);
        }
    }
    out
}

fn str_at<'j>(j: &'j Json, key: &str) -> Option<&'j str> {
    j.get(key).and_then(Json::as_str)
}

/// Port ranges a security group opens to the internet.
fn open_ranges(sg: &Json) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let Some(perms) = sg.get("ipPermissions").and_then(Json::as_array) else {
        return out;
    };
    for p in perms {
        let world = p
            .get("ipRanges")
            .and_then(Json::as_array)
            .is_some_and(|r| r.iter().any(|c| str_at(c, "cidrIp") == Some(ANY_V4)))
            || p.get("ipv6Ranges")
                .and_then(Json::as_array)
                .is_some_and(|r| r.iter().any(|c| str_at(c, "cidrIpv6") == Some(ANY_V6)));
        if !world {
            continue;
        }
        if str_at(p, "ipProtocol") == Some("-1") {
            out.push((0, 65535));
        } else {
            let from = p.get("fromPort").and_then(Json::as_i64).unwrap_or(0);
            let to = p.get("toPort").and_then(Json::as_i64).unwrap_or(65535);
            out.push((from.max(0), if to < 0 { 65535 } else { to }));
        }
    }
    out
}

fn security_group(graph: &Graph<'_>, pos: u32) -> Map<String, Json> {
    let sg = graph.asset_at(pos);
    let running = graph
        .follow(pos, &[step("uses", true)])
        .iter()
        .filter(|i| i.resource_type.as_str() == "aws.ec2.instance" && instance_running(&i.config))
        .count();
    let mut m = Map::new();
    m.insert(
        "open_to_internet".into(),
        Json::Bool(!open_ranges(&sg.config).is_empty()),
    );
    m.insert("attached_running_instances".into(), json!(running));
    m
}

fn instance_running(config: &Json) -> bool {
    config
        .get("state")
        .and_then(|s| s.get("name"))
        .and_then(Json::as_str)
        .is_none_or(|s| s == "running")
}

fn instance(graph: &Graph<'_>, pos: u32, admin: &[bool]) -> Option<Map<String, Json>> {
    let a = graph.asset_at(pos);
    let public_ip = str_at(&a.config, "publicIpAddress").is_some_and(|s| !s.is_empty());
    let subnets = graph.follow(pos, &[step("contained_in", false)]);
    let subnet_positions: Vec<u32> = subnets
        .iter()
        .filter(|s| s.resource_type.as_str() == "aws.ec2.subnet")
        .filter_map(|s| graph.position(s))
        .collect();
    let routed = subnet_positions.iter().any(|&s| {
        graph
            .follow(s, &[step("associated_with", true)])
            .iter()
            .filter(|r| r.resource_type.as_str() == "aws.ec2.route_table")
            .any(|rt| routes_to_igw(&rt.config))
    });
    let nacl_open = subnet_positions.iter().all(|&s| {
        graph
            .follow(s, &[step("associated_with", true)])
            .iter()
            .filter(|r| r.resource_type.as_str() == "aws.ec2.network_acl")
            .all(|acl| nacl_admits_internet(&acl.config))
    });
    let mut ports: Vec<(i64, i64)> = graph
        .follow(pos, &[step("uses", false)])
        .iter()
        .filter(|g| g.resource_type.as_str() == "aws.ec2.security_group")
        .flat_map(|g| open_ranges(&g.config))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let admin_role = graph
        .follow(pos, &[step("uses", false)])
        .iter()
        .filter(|r| r.resource_type.as_str() == "aws.iam.role")
        .filter_map(|r| graph.position(r))
        .any(|p| admin[p as usize]);
    let exposed =
        instance_running(&a.config) && public_ip && routed && nacl_open && !ports.is_empty();
    let mut m = Map::new();
    m.insert("internet_exposed".into(), Json::Bool(exposed));
    m.insert(
        "exposed_ports".into(),
        Json::Array(if exposed {
            ports.iter().map(|(f, t)| json!([f, t])).collect()
        } else {
            Vec::new()
        }),
    );
    m.insert("admin_role".into(), Json::Bool(admin_role));
    Some(m)
}

fn routes_to_igw(rt: &Json) -> bool {
    rt.get("routes")
        .and_then(Json::as_array)
        .is_some_and(|routes| {
            routes.iter().any(|r| {
                (str_at(r, "destinationCidrBlock") == Some(ANY_V4)
                    || str_at(r, "destinationIpv6CidrBlock") == Some(ANY_V6))
                    && str_at(r, "gatewayId").is_some_and(|g| g.starts_with("igw-"))
                    && str_at(r, "state") != Some("blackhole")
            })
        })
}

/// Whether the lowest-numbered inbound rule matching internet traffic allows it.
fn nacl_admits_internet(acl: &Json) -> bool {
    let Some(entries) = acl.get("entries").and_then(Json::as_array) else {
        return true;
    };
    let mut inbound: Vec<&Json> = entries
        .iter()
        .filter(|e| e.get("egress").and_then(Json::as_bool) != Some(true))
        .filter(|e| {
            str_at(e, "cidrBlock") == Some(ANY_V4) || str_at(e, "ipv6CidrBlock") == Some(ANY_V6)
        })
        .collect();
    inbound.sort_by_key(|e| {
        e.get("ruleNumber")
            .and_then(Json::as_i64)
            .unwrap_or(i64::MAX)
    });
    inbound
        .first()
        .is_some_and(|e| str_at(e, "ruleAction") == Some("allow"))
}

fn database(graph: &Graph<'_>, pos: u32) -> Option<Map<String, Json>> {
    let a = graph.asset_at(pos);
    let public = a
        .config
        .get("publiclyAccessible")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let port = a
        .config
        .get("endpoint")
        .and_then(|e| e.get("port"))
        .and_then(Json::as_i64);
    let open = graph
        .follow(pos, &[step("uses", false)])
        .iter()
        .filter(|g| g.resource_type.as_str() == "aws.ec2.security_group")
        .flat_map(|g| open_ranges(&g.config))
        .any(|(from, to)| port.is_none_or(|p| from <= p && p <= to));
    let mut m = Map::new();
    m.insert("internet_exposed".into(), Json::Bool(public && open));
    Some(m)
}

fn bucket(config: &Json) -> Map<String, Json> {
    let pab = config.get("publicAccessBlock");
    let flag = |name: &str| {
        pab.and_then(|p| p.get(name))
            .and_then(Json::as_bool)
            .unwrap_or(false)
    };
    let account_pab = config.get("accountPublicAccessBlock");
    let account_flag = |name: &str| {
        account_pab
            .and_then(|p| p.get(name))
            .and_then(Json::as_bool)
            .unwrap_or(false)
    };
    let policy_blocked = flag("restrictPublicBuckets") || account_flag("restrictPublicBuckets");
    let acl_blocked = flag("ignorePublicAcls") || account_flag("ignorePublicAcls");
    let policy_public = config
        .get("policy")
        .and_then(|p| p.get("Statement"))
        .and_then(Json::as_array)
        .is_some_and(|stmts| {
            stmts.iter().any(|s| {
                str_at(s, "Effect") == Some("Allow")
                    && s.get("Condition")
                        .is_none_or(|c| c.as_object().is_none_or(Map::is_empty))
                    && anonymous_principal(s.get("Principal"))
            })
        });
    let acl_public = config
        .get("acl")
        .and_then(|a| a.get("grants"))
        .and_then(Json::as_array)
        .is_some_and(|grants| {
            grants.iter().any(|g| {
                let uri = g
                    .get("grantee")
                    .and_then(|x| x.get("uri").or_else(|| x.get("URI")))
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                uri.ends_with("/global/AllUsers") || uri.ends_with("/global/AuthenticatedUsers")
            })
        });
    let mut m = Map::new();
    m.insert(
        "public".into(),
        Json::Bool((policy_public && !policy_blocked) || (acl_public && !acl_blocked)),
    );
    m
}

fn anonymous_principal(p: Option<&Json>) -> bool {
    match p {
        Some(Json::String(s)) => s == "*",
        Some(Json::Object(m)) => m.get("AWS").is_some_and(|v| match v {
            Json::String(s) => s == "*",
            Json::Array(a) => a.iter().any(|x| x.as_str() == Some("*")),
            _ => false,
        }),
        _ => false,
    }
}

/// Which buckets' objects a principal may read.
#[derive(Debug, Clone, Default)]
struct S3Reach {
    all: bool,
    buckets: Vec<String>,
}

fn allows_get_object(action: &str) -> bool {
    action == "*"
        || action == "s3:getobject"
        || action
            .strip_suffix('*')
            .is_some_and(|prefix| "s3:getobject".starts_with(prefix))
}

fn s3_reach(actions: &[(String, String)]) -> S3Reach {
    let mut r = S3Reach::default();
    for (action, resource) in actions {
        if !allows_get_object(action) {
            continue;
        }
        if resource == "*" || resource == "arn:aws:s3:::*" || resource == "arn:aws:s3:::*/*" {
            r.all = true;
        } else if let Some(rest) = resource.strip_prefix("arn:aws:s3:::") {
            let name = rest.split('/').next().unwrap_or_default();
            if !name.is_empty() && !name.contains('*') && !r.buckets.iter().any(|b| b == name) {
                r.buckets.push(name.to_string());
            }
        }
    }
    if r.all {
        r.buckets.clear();
    }
    r
}

fn bucket_name(a: &rampart_model::Asset) -> &str {
    a.config
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or(a.name.as_str())
}

fn is_sensitive(a: &rampart_model::Asset) -> bool {
    ["data-classification", "classification"].iter().any(|k| {
        a.tags.get(*k).is_some_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "confidential" | "restricted" | "sensitive"
            )
        })
    })
}

/// `(action, resource)` pairs (lower-cased actions) that a principal's policies allow.
fn principal_actions(graph: &Graph<'_>, pos: u32) -> Vec<(String, String)> {
    let a = graph.asset_at(pos);
    let mut docs: Vec<&Json> = Vec::new();
    let mut holders = vec![a];
    if a.resource_type.as_str() == "aws.iam.user" {
        holders.extend(
            graph
                .follow(pos, &[step("member_of", false)])
                .into_iter()
                .filter(|g| g.resource_type.as_str() == "aws.iam.group"),
        );
    }
    for h in &holders {
        for key in ["userPolicyList", "rolePolicyList", "groupPolicyList"] {
            if let Some(list) = h.config.get(key).and_then(Json::as_array) {
                docs.extend(list.iter().filter_map(|p| p.get("policyDocument")));
            }
        }
        if let Some(hp) = graph.position(h) {
            for policy in graph.follow(hp, &[step("attached_to", false)]) {
                if policy.resource_type.as_str() == "aws.iam.policy"
                    && let Some(d) = policy.config.get("document")
                {
                    docs.push(d);
                }
            }
        }
    }
    let mut out = Vec::new();
    for doc in docs {
        let Some(stmts) = doc.get("Statement") else {
            continue;
        };
        let stmts: Vec<&Json> = match stmts {
            Json::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for s in stmts {
            if str_at(s, "Effect") != Some("Allow") {
                continue;
            }
            let list = |key: &str| -> Vec<String> {
                match s.get(key) {
                    Some(Json::String(x)) => vec![x.to_ascii_lowercase()],
                    Some(Json::Array(xs)) => xs
                        .iter()
                        .filter_map(Json::as_str)
                        .map(str::to_ascii_lowercase)
                        .collect(),
                    _ => Vec::new(),
                }
            };
            let resources = list("Resource");
            for action in list("Action") {
                let action = if action == "*:*" {
                    "*".to_string()
                } else {
                    action
                };
                for r in &resources {
                    out.push((action.clone(), r.clone()));
                }
            }
        }
    }
    out
}

fn escalation(actions: &[&str]) -> bool {
    let allows = |wanted: &str| {
        actions.iter().any(|a| {
            *a == wanted
                || *a == "*"
                || a.strip_suffix('*')
                    .is_some_and(|prefix| wanted.starts_with(prefix))
        })
    };
    ESCALATION_SINGLE.iter().any(|a| allows(a))
        || (allows("iam:passrole") && ESCALATION_WITH_PASSROLE.iter().any(|a| allows(a)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rampart_model::{Asset, Inventory, Provider, Relationship, ResourceType};

    fn asset(id: &str, t: &str, config: Json) -> Asset {
        Asset {
            id: id.into(),
            provider: Provider::Aws,
            account: "1".into(),
            region: "r".into(),
            resource_type: ResourceType::parse(t).unwrap(),
            native_id: id.into(),
            name: id.into(),
            tags: Default::default(),
            config,
            first_seen: chrono::DateTime::UNIX_EPOCH,
            last_seen: chrono::DateTime::UNIX_EPOCH,
        }
    }

    fn rel(from: &str, to: &str, kind: &str) -> Relationship {
        Relationship {
            from: from.into(),
            to: to.into(),
            kind: kind.into(),
        }
    }

    /// One instance in one subnet, with knobs for each layer of reachability.
    #[derive(Clone)]
    struct Topology {
        public_ip: bool,
        igw_route: bool,
        running: bool,
        /// NACL inbound entries for 0.0.0.0/0: (rule number, allow).
        nacl: Vec<(i64, bool)>,
        /// Security group ingress: (from, to, cidr).
        sg: Vec<(i64, i64, &'static str)>,
    }

    impl Topology {
        fn open() -> Topology {
            Topology {
                public_ip: true,
                igw_route: true,
                running: true,
                nacl: vec![(100, true), (32767, false)],
                sg: vec![(443, 443, ANY_V4)],
            }
        }

        fn inventory(&self) -> Inventory {
            let mut cfg = json!({"instanceId": "i-1", "state": {"name": if self.running { "running" } else { "stopped" }}});
            if self.public_ip {
                cfg["publicIpAddress"] = json!("203.0.113.5");
            }
            let mut routes = vec![
                json!({"destinationCidrBlock": "10.0.0.0/16", "gatewayId": "local", "state": "active"}),
            ];
            if self.igw_route {
                routes.push(json!({"destinationCidrBlock": ANY_V4, "gatewayId": "igw-1", "state": "active"}));
            } else {
                routes.push(json!({"destinationCidrBlock": ANY_V4, "natGatewayId": "nat-1", "state": "active"}));
            }
            let entries: Vec<Json> = self
                .nacl
                .iter()
                .map(|(n, allow)| json!({"ruleNumber": n, "protocol": "-1", "ruleAction": if *allow { "allow" } else { "deny" }, "egress": false, "cidrBlock": ANY_V4}))
                .collect();
            let perms: Vec<Json> = self
                .sg
                .iter()
                .map(|(f, t, c)| json!({"ipProtocol": "tcp", "fromPort": f, "toPort": t, "ipRanges": [{"cidrIp": c}], "ipv6Ranges": []}))
                .collect();
            Inventory {
                assets: vec![
                    asset("i", "aws.ec2.instance", cfg),
                    asset("subnet", "aws.ec2.subnet", json!({})),
                    asset("rtb", "aws.ec2.route_table", json!({"routes": routes})),
                    asset("acl", "aws.ec2.network_acl", json!({"entries": entries})),
                    asset(
                        "sg",
                        "aws.ec2.security_group",
                        json!({"ipPermissions": perms}),
                    ),
                ],
                relationships: vec![
                    rel("i", "subnet", "contained_in"),
                    rel("rtb", "subnet", "associated_with"),
                    rel("acl", "subnet", "associated_with"),
                    rel("i", "sg", "uses"),
                ],
            }
        }

        fn exposed(&self) -> bool {
            let inv = self.inventory();
            let g = Graph::build(&inv);
            g.computed(&inv.assets[0]).unwrap()["internet_exposed"]
                .as_bool()
                .unwrap()
        }
    }

    #[test]
    fn instance_reachability_needs_every_layer_open() {
        assert!(Topology::open().exposed());
        let mut t = Topology::open();
        t.public_ip = false;
        assert!(!t.exposed(), "no public IP");
        let mut t = Topology::open();
        t.igw_route = false;
        assert!(
            !t.exposed(),
            "default route through a NAT gateway, not an internet gateway"
        );
        let mut t = Topology::open();
        t.nacl = vec![(50, false), (100, true)];
        assert!(!t.exposed(), "a lower-numbered NACL deny wins");
        let mut t = Topology::open();
        t.nacl = vec![(100, true), (200, false)];
        assert!(t.exposed(), "a higher-numbered deny does not");
        let mut t = Topology::open();
        t.sg = vec![(443, 443, "10.0.0.0/8")];
        assert!(!t.exposed(), "security group open only to a private range");
        let mut t = Topology::open();
        t.sg = vec![];
        assert!(!t.exposed(), "no ingress rule");
        let mut t = Topology::open();
        t.running = false;
        assert!(!t.exposed(), "stopped instance");
    }

    #[test]
    fn exposed_ports_list_the_open_ranges() {
        let mut t = Topology::open();
        t.sg = vec![
            (22, 22, ANY_V4),
            (8000, 8100, ANY_V4),
            (5432, 5432, "10.0.0.0/8"),
        ];
        let inv = t.inventory();
        let g = Graph::build(&inv);
        assert_eq!(
            g.computed(&inv.assets[0]).unwrap()["exposed_ports"],
            json!([[22, 22], [8000, 8100]])
        );
    }

    #[test]
    fn adding_a_deny_never_increases_reachability() {
        // Random topologies (deterministic generator); inserting a NACL deny rule anywhere in
        // the order can only keep or remove exposure.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        for _ in 0..300 {
            let mut t = Topology::open();
            t.public_ip = next() % 4 != 0;
            t.igw_route = next() % 4 != 0;
            t.nacl = (0..1 + next() % 3)
                .map(|_| ((1 + next() % 300) as i64, next() % 3 != 0))
                .collect();
            let before = t.exposed();
            let mut denied = t.clone();
            denied.nacl.push(((1 + next() % 300) as i64, false));
            let after = denied.exposed();
            assert!(
                !after || before,
                "a deny made an unreachable instance reachable"
            );
        }
    }

    fn bucket(pab: bool, account_pab: bool, policy: Option<Json>, acl_all_users: bool) -> bool {
        let flags = |on: bool| json!({"blockPublicAcls": on, "ignorePublicAcls": on, "blockPublicPolicy": on, "restrictPublicBuckets": on});
        let mut cfg = json!({"name": "b", "publicAccessBlock": flags(pab)});
        if account_pab {
            cfg["accountPublicAccessBlock"] = flags(true);
        }
        if let Some(p) = policy {
            cfg["policy"] = p;
        }
        if acl_all_users {
            cfg["acl"] = json!({"grants": [{"grantee": {"uri": "http://acs.amazonaws.com/groups/global/AllUsers"}, "permission": "READ"}]});
        }
        bucket_public(cfg)
    }

    fn bucket_public(cfg: Json) -> bool {
        super::bucket(&cfg)["public"].as_bool().unwrap()
    }

    #[test]
    fn bucket_publicity_combines_policy_acl_and_public_access_blocks() {
        let public_policy = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": ["*"]}]});
        let aws_star = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject"], "Resource": ["*"]}]});
        let conditioned = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": ["*"], "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}}]});
        let deny_only = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": ["s3:*"], "Resource": ["*"]}]});
        let account_only = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root"]}, "Action": ["s3:GetObject"], "Resource": ["*"]}]});
        for (pab, account, policy, acl, expected) in [
            (false, false, Some(public_policy.clone()), false, true),
            (false, false, Some(aws_star), false, true),
            (true, false, Some(public_policy.clone()), false, false),
            (false, true, Some(public_policy.clone()), false, false),
            (false, false, Some(conditioned), false, false),
            (false, false, Some(deny_only), false, false),
            (false, false, Some(account_only), false, false),
            (false, false, None, true, true),
            (true, false, None, true, false),
            (false, true, None, true, false),
            (false, false, None, false, false),
        ] {
            assert_eq!(
                bucket(pab, account, policy.clone(), acl),
                expected,
                "pab={pab} account={account} policy={policy:?} acl={acl}"
            );
        }
    }

    fn principal(doc: Json) -> Json {
        let inv = Inventory {
            assets: vec![
                asset("u", "aws.iam.user", json!({"userName": "u"})),
                asset("g", "aws.iam.group", json!({"groupName": "g"})),
                asset("p", "aws.iam.policy", json!({"document": doc})),
            ],
            relationships: vec![rel("u", "g", "member_of"), rel("g", "p", "attached_to")],
        };
        let g = Graph::build(&inv);
        g.computed(&inv.assets[0]).unwrap().clone()
    }

    #[test]
    fn admin_and_escalation_through_group_policies() {
        let admin =
            principal(json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}));
        assert_eq!(admin["admin"], true);
        assert_eq!(admin["privilege_escalation"], true);
        let passrole = principal(
            json!({"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": ["*"]}]}),
        );
        assert_eq!(passrole["admin"], false);
        assert_eq!(passrole["privilege_escalation"], true);
        let wildcard = principal(
            json!({"Statement": [{"Effect": "Allow", "Action": ["iam:*"], "Resource": ["*"]}]}),
        );
        assert_eq!(
            wildcard["privilege_escalation"], true,
            "iam:* includes CreatePolicyVersion"
        );
        for safe in [
            json!({"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": ["*"]}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "lambda:InvokeFunction"], "Resource": ["*"]}]}),
            json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::only-this/*"}]}),
        ] {
            let p = principal(safe.clone());
            assert_eq!(p["privilege_escalation"], false, "{safe}");
            assert_eq!(p["admin"], false, "{safe}");
        }
    }

    #[test]
    fn principals_reach_data_stores_and_instances_inherit_their_roles_reach() {
        let mut payroll = asset("payroll", "aws.s3.bucket", json!({"name": "payroll"}));
        payroll
            .tags
            .insert("data-classification".into(), "Confidential".into());
        let inv = Inventory {
            assets: vec![
                asset(
                    "i",
                    "aws.ec2.instance",
                    json!({"state": {"name": "running"}}),
                ),
                asset("role", "aws.iam.role", json!({"roleName": "role"})),
                asset(
                    "p",
                    "aws.iam.policy",
                    json!({"document": {"Statement": [
                    {"Effect": "Allow", "Action": ["s3:Get*"], "Resource": ["arn:aws:s3:::payroll/*"]}]}}),
                ),
                payroll,
                asset(
                    "public-site",
                    "aws.s3.bucket",
                    json!({"name": "public-site"}),
                ),
                asset(
                    "ops",
                    "aws.iam.user",
                    json!({"userName": "ops", "userPolicyList": [{"policyName": "all", "policyDocument": {"Statement": [
                    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}]}),
                ),
            ],
            relationships: vec![rel("i", "role", "uses"), rel("role", "p", "attached_to")],
        };
        let g = Graph::build(&inv);
        let c = |i: usize| g.computed(&inv.assets[i]).unwrap().clone();
        assert_eq!(c(1)["readable_buckets"], json!(["payroll"]));
        assert_eq!(c(1)["reads_all_buckets"], false);
        assert_eq!(c(5)["reads_all_buckets"], true);
        assert_eq!(c(3)["readers"], 2, "the role and the s3:* user");
        assert_eq!(c(4)["readers"], 1, "only the s3:* user");
        assert_eq!(c(0)["reads_sensitive_data"], true);
    }
}
