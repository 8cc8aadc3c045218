//! Computed properties: facts about an asset that need its neighbours, derived from the facts
//! of each asset and the adjacency of the [`GraphState`] (recomputed incrementally after each
//! scan, see `state.rs`), and readable in CEL as
//! `resource.computed.<name>` (missing properties read as absent: guard with `has()`).
//!
//! | type | property | meaning |
//! | --- | --- | --- |
//! | `aws.ec2.instance` | `internet_exposed` | running, has a public IP, its subnet routes `0.0.0.0/0` to an internet gateway, its network ACL lets internet traffic in, and a security group opens at least one port to `0.0.0.0/0` or `::/0` |
//! | `aws.ec2.instance` | `exposed_ports` | the `[from, to]` port ranges (protocol `-1` is `[0, 65535]`) its security groups open to the internet |
//! | `aws.ec2.instance` | `admin_role` | its instance role grants administrative privileges |
//! | `aws.rds.db_instance` | `internet_exposed` | publicly accessible and a security group opens its port to the internet |
//! | `aws.s3.bucket` | `public` | public access is not fully blocked and the policy allows anonymous access without a condition, or the ACL grants AllUsers / AuthenticatedUsers |
//! | `aws.iam.user`, `aws.iam.role`, `aws.iam.group` | `admin` | an attached or inline policy (a user's also through its groups) allows `*` on `*`, and no deny, permission boundary (`bounded_by` edge) or SCP of its account takes away IAM, compute or data access (see `access.rs`) |
//! | same | `privilege_escalation` | the permitted actions (after denies, boundary and SCPs) include a known escalation path (e.g. `iam:PassRole` with `lambda:CreateFunction` or `ec2:RunInstances`, `iam:CreatePolicyVersion`, `iam:AttachUserPolicy`, …) |
//! | `aws.ec2.security_group` | `open_to_internet`, `attached_running_instances` | a rule admits `0.0.0.0/0` or `::/0`; the number of running instances using it |
//! | principals | `reads_all_buckets`, `readable_buckets`, `reads_all_buckets_except` | `s3:GetObject` (directly or through `s3:*`, `s3:Get*`, `*`) permitted on every bucket; else the buckets it may read (alphabetical, at most 50); or, when it reads every bucket but some, those (at most 50). Identity grants pass through explicit denies, the boundary and the SCPs; a bucket policy granting the principal's ARN adds that bucket (unless an identity deny or SCP blocks it); a bucket policy denying it (or everyone) unconditionally removes it |
//! | `aws.s3.bucket` | `readers`, `reader_names` | how many principals of the inventory can read its objects (as above), and up to 20 of their names (alphabetical) |
//! | GCP and Azure | `internet_exposed`, `exposed_ports`, `public` | see `exposure.rs` (instances and VMs through firewall rules and network security groups; GCP buckets and Azure storage accounts) |
//! | `aws.ec2.instance` | `reads_sensitive_data` | its role can read a bucket tagged `data-classification` (or `classification`) = confidential, restricted or sensitive |

use serde_json::{Map, Value as Json};

use rampart_model::Asset;

use crate::access::{self, Rules};
use crate::state::{BucketFacts, Facts, Grant, GraphState, PrincipalFacts, Props};

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

/// The facts of an AWS asset (anything else has none).
pub(crate) fn extract(a: &Asset) -> Facts {
    let c = &a.config;
    match a.resource_type.as_str() {
        "aws.ec2.instance" => Facts::Instance {
            running: instance_running(c),
            public_ip: str_at(c, "publicIpAddress").is_some_and(|s| !s.is_empty()),
        },
        "aws.ec2.route_table" => Facts::RouteTable {
            to_igw: routes_to_igw(c),
        },
        "aws.ec2.network_acl" => Facts::Nacl {
            admits: nacl_admits_internet(c),
        },
        "aws.ec2.security_group" => Facts::SecurityGroup {
            open: open_ranges(c).into(),
        },
        "aws.rds.db_instance" => Facts::Database {
            public: c
                .get("publiclyAccessible")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            port: c
                .get("endpoint")
                .and_then(|e| e.get("port"))
                .and_then(Json::as_i64),
        },
        "aws.s3.bucket" => {
            let (grants_to, denies_all, denies_to) = bucket_policy_principals(c);
            Facts::Bucket(Box::new(BucketFacts {
                name: bucket_name(a).into(),
                public: bucket_public(c),
                sensitive: is_sensitive(a),
                grants_to,
                denies_all,
                denies_to,
            }))
        }
        "aws.iam.user" | "aws.iam.role" | "aws.iam.group" => {
            let (mut allow, mut deny) = (Vec::new(), Vec::new());
            for key in ["userPolicyList", "rolePolicyList", "groupPolicyList"] {
                for p in c.get(key).and_then(Json::as_array).into_iter().flatten() {
                    if let Some(doc) = p.get("policyDocument") {
                        access::document(doc, &mut allow, &mut deny);
                    }
                }
            }
            Facts::Principal(Box::new(PrincipalFacts {
                name: a.name.as_str().into(),
                arn: str_at(c, "arn")
                    .unwrap_or(a.native_id.as_str())
                    .to_ascii_lowercase()
                    .into(),
                account: a.account.as_str().into(),
                rules: Rules::from_parts(allow, deny),
            }))
        }
        "aws.iam.policy" => {
            let (mut allow, mut deny) = (Vec::new(), Vec::new());
            if let Some(doc) = c.get("document") {
                access::document(doc, &mut allow, &mut deny);
            }
            Facts::Policy(Rules::from_parts(allow, deny))
        }
        "aws.organizations.policy" => {
            let (mut allow, mut deny) = (Vec::new(), Vec::new());
            if let Some(doc) = c.get("content") {
                access::document(doc, &mut allow, &mut deny);
            }
            let accounts = c
                .get("appliesToAccounts")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
                .map(Into::into)
                .collect();
            if str_at(c, "type").is_some_and(|t| t != "SERVICE_CONTROL_POLICY") {
                return Facts::Other;
            }
            Facts::Scp {
                rules: Rules::from_parts(allow, deny),
                accounts,
            }
        }
        _ => Facts::Other,
    }
}

/// Admin, escalation and data reach of a principal: its own policies, those attached to it
/// and (for a user) its groups', within its permission boundary and its account's SCPs.
pub(crate) fn principal(state: &GraphState, slot: u32) -> Props {
    let Facts::Principal(me) = &state.facts[slot as usize] else {
        return Props::None;
    };
    let mut holders = vec![slot];
    if state.type_of(slot) == "aws.iam.user" {
        holders.extend(
            state
                .step(slot, "member_of", false)
                .into_iter()
                .filter(|&g| state.type_of(g) == "aws.iam.group"),
        );
    }
    let (mut allow, mut deny): (Vec<Grant>, Vec<Grant>) = (Vec::new(), Vec::new());
    let mut take = |r: &Rules| {
        allow.extend(r.allow.iter().cloned());
        deny.extend(r.deny.iter().cloned());
    };
    for &h in &holders {
        if let Facts::Principal(p) = &state.facts[h as usize] {
            take(&p.rules);
        }
        for p in state.step(h, "attached_to", false) {
            if let Facts::Policy(r) = &state.facts[p as usize] {
                take(r);
            }
        }
    }
    let boundary = state
        .step(slot, "bounded_by", false)
        .into_iter()
        .filter_map(|p| match &state.facts[p as usize] {
            Facts::Policy(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    let who = access::Principal {
        identity: Rules::from_parts(allow, deny),
        boundary,
        scps: state.scps_of(&me.account),
    };
    let admin = who.admin();
    // Only grants that can touch IAM or compute resources matter for escalation.
    let escalation_target = |r: &str| {
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
    };
    let permitted = |a: &str| who.permits(a, &escalation_target);
    let escalation = admin
        || ESCALATION_SINGLE.iter().any(|a| permitted(a))
        || (permitted("iam:passrole") && ESCALATION_WITH_PASSROLE.iter().any(|a| permitted(a)));
    Props::Principal {
        admin,
        escalation,
        reach: who.readable(),
        blocked: who.blocked(),
    }
}

type Arns = Box<[Box<str>]>;

/// ARNs (lower-cased) a bucket policy lets read objects without a condition, whether it denies
/// reading to everyone, and the ARNs it denies reading to (unconditional statements only).
fn bucket_policy_principals(config: &Json) -> (Arns, bool, Arns) {
    let (mut grants, mut denies_all, mut denies) = (Vec::new(), false, Vec::new());
    let stmts = config
        .get("policy")
        .and_then(|p| p.get("Statement"))
        .and_then(Json::as_array);
    for s in stmts.into_iter().flatten() {
        if s.get("Condition")
            .is_some_and(|c| c.as_object().is_none_or(|m| !m.is_empty()))
        {
            continue;
        }
        let actions: Vec<String> = match s.get("Action") {
            Some(Json::String(a)) => vec![a.to_ascii_lowercase()],
            Some(Json::Array(a)) => a
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_ascii_lowercase)
                .collect(),
            _ => Vec::new(),
        };
        if !actions.iter().any(|a| access::glob(a, "s3:getobject")) {
            continue;
        }
        let arns: Vec<Box<str>> = match s.get("Principal").and_then(|p| p.get("AWS")) {
            Some(Json::String(a)) => vec![a.to_ascii_lowercase().into()],
            Some(Json::Array(a)) => a
                .iter()
                .filter_map(Json::as_str)
                .map(|a| a.to_ascii_lowercase().into())
                .collect(),
            _ => Vec::new(),
        };
        let everyone = anonymous_principal(s.get("Principal"));
        match str_at(s, "Effect") {
            Some("Allow") => grants.extend(arns.into_iter().filter(|a| &**a != "*")),
            Some("Deny") if everyone => denies_all = true,
            Some("Deny") => denies.extend(arns),
            _ => {}
        }
    }
    (grants.into(), denies_all, denies.into())
}

/// Internet exposure of an instance: running, a public IP, a subnet routed to an internet
/// gateway whose network ACLs admit internet traffic, and a security group open to it.
pub(crate) fn instance(state: &GraphState, slot: u32) -> Props {
    let (running, public_ip) = match &state.facts[slot as usize] {
        Facts::Instance { running, public_ip } => (*running, *public_ip),
        _ => (false, false),
    };
    let subnets: Vec<u32> = state
        .step(slot, "contained_in", false)
        .into_iter()
        .filter(|&s| state.type_of(s) == "aws.ec2.subnet")
        .collect();
    let associated = |s: u32| state.step(s, "associated_with", true);
    let routed = subnets.iter().any(|&s| {
        associated(s)
            .into_iter()
            .any(|r| matches!(state.facts[r as usize], Facts::RouteTable { to_igw: true }))
    });
    let nacl_open = subnets.iter().all(|&s| {
        associated(s)
            .into_iter()
            .all(|r| !matches!(state.facts[r as usize], Facts::Nacl { admits: false }))
    });
    let mut ports = open_through_groups(state, slot);
    ports.sort_unstable();
    ports.dedup();
    let exposed = running && public_ip && routed && nacl_open && !ports.is_empty();
    Props::Exposure {
        exposed,
        ports: if exposed { ports.into() } else { Box::new([]) },
    }
}

/// The port ranges the security groups an asset uses open to the internet.
fn open_through_groups(state: &GraphState, slot: u32) -> Vec<(i64, i64)> {
    state
        .step(slot, "uses", false)
        .into_iter()
        .filter_map(|g| match &state.facts[g as usize] {
            Facts::SecurityGroup { open } => Some(open.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect()
}

pub(crate) fn security_group(state: &GraphState, slot: u32) -> Props {
    let running = state
        .step(slot, "uses", true)
        .into_iter()
        .filter(|&i| {
            matches!(
                state.facts[i as usize],
                Facts::Instance { running: true, .. }
            )
        })
        .count();
    Props::SecurityGroup {
        open: matches!(&state.facts[slot as usize], Facts::SecurityGroup { open } if !open.is_empty()),
        running: running as u32,
    }
}

pub(crate) fn database(state: &GraphState, slot: u32) -> Props {
    let (public, port) = match &state.facts[slot as usize] {
        Facts::Database { public, port } => (*public, *port),
        _ => (false, None),
    };
    let open = open_through_groups(state, slot)
        .into_iter()
        .any(|(from, to)| port.is_none_or(|p| from <= p && p <= to));
    Props::Database {
        exposed: public && open,
    }
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

fn instance_running(config: &Json) -> bool {
    config
        .get("state")
        .and_then(|s| s.get("name"))
        .and_then(Json::as_str)
        .is_none_or(|s| s == "running")
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

/// Whether a bucket's own settings make it public.
fn bucket_public(config: &Json) -> bool {
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
    (policy_public && !policy_blocked) || (acl_public && !acl_blocked)
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

fn bucket_name(a: &Asset) -> &str {
    a.config
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or(a.name.as_str())
}

fn is_sensitive(a: &Asset) -> bool {
    ["data-classification", "classification"].iter().any(|k| {
        a.tags.get(*k).is_some_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "confidential" | "restricted" | "sensitive"
            )
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::graph::Graph;
    use rampart_model::{Asset, Inventory, Provider, Relationship, ResourceType};
    use serde_json::json;

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
        super::bucket_public(&cfg)
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
        g.computed(&inv.assets[0]).unwrap()
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
        let c = |i: usize| g.computed(&inv.assets[i]).unwrap();
        assert_eq!(c(1)["readable_buckets"], json!(["payroll"]));
        assert_eq!(c(1)["reads_all_buckets"], false);
        assert_eq!(c(5)["reads_all_buckets"], true);
        assert_eq!(c(3)["readers"], 2, "the role and the s3:* user");
        assert_eq!(c(4)["readers"], 1, "only the s3:* user");
        assert_eq!(c(0)["reads_sensitive_data"], true);
    }

    /// Data reach through explicit denies, a permission boundary, an SCP and bucket policies
    /// (grants to a named role, a deny to everyone, a deny to one role).
    #[test]
    fn data_reach_follows_denies_boundaries_scps_and_bucket_policies() {
        let doc = |stmts: Json| json!({"Statement": stmts});
        let bucket_with = |name: &str, policy: Option<Json>| {
            let mut cfg = json!({"name": name});
            if let Some(p) = policy {
                cfg["policy"] = p;
            }
            asset(name, "aws.s3.bucket", cfg)
        };
        let role = |id: &str, inline: Json| {
            asset(
                id,
                "aws.iam.role",
                json!({"roleName": id, "arn": format!("arn:aws:iam::1:role/{id}"),
                    "rolePolicyList": [{"policyName": "p", "policyDocument": inline}]}),
            )
        };
        let mut vault = bucket_with(
            "vault",
            Some(doc(
                json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/granted"},
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::vault/*"}]),
            )),
        );
        vault
            .tags
            .insert("data-classification".into(), "restricted".into());
        let mut outsider = asset(
            "outsider",
            "aws.iam.user",
            json!({"userName": "outsider", "arn": "arn:aws:iam::2:user/outsider",
                "userPolicyList": [{"policyName": "p", "policyDocument": doc(json!([
                    {"Effect": "Allow", "Action": "*", "Resource": "*"}]))}]}),
        );
        outsider.account = "2".into();
        let inv = Inventory {
            assets: vec![
                role(
                    "all-but-payroll",
                    doc(json!([
                        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                        {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::payroll/*"}])),
                ),
                role(
                    "bounded",
                    doc(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])),
                ),
                asset(
                    "boundary",
                    "aws.iam.policy",
                    json!({"document": doc(json!([{"Effect": "Allow", "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::logs/*"}]))}),
                ),
                role(
                    "granted",
                    doc(json!([{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}])),
                ),
                outsider,
                asset(
                    "scp",
                    "aws.organizations.policy",
                    json!({"type": "SERVICE_CONTROL_POLICY", "appliesToAccounts": ["2"],
                        "content": doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"},
                            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]))}),
                ),
                bucket_with("payroll", None),
                bucket_with("logs", None),
                vault,
                bucket_with(
                    "sealed",
                    Some(doc(
                        json!([{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                        "Resource": "arn:aws:s3:::sealed/*"}]),
                    )),
                ),
                bucket_with(
                    "no-bounded",
                    Some(doc(
                        json!([{"Effect": "Deny", "Principal": {"AWS": ["arn:aws:iam::1:role/all-but-payroll"]},
                        "Action": "s3:GetObject", "Resource": "*"}]),
                    )),
                ),
                asset(
                    "worker",
                    "aws.ec2.instance",
                    json!({"state": {"name": "running"}}),
                ),
            ],
            relationships: vec![
                rel("bounded", "boundary", "bounded_by"),
                rel("worker", "granted", "uses"),
            ],
        };
        let g = Graph::build(&inv);
        let c = |id: &str| {
            g.computed(inv.assets.iter().find(|a| a.id == id).unwrap())
                .unwrap()
        };
        let all_but = c("all-but-payroll");
        assert_eq!(all_but["reads_all_buckets"], false);
        assert_eq!(
            all_but["reads_all_buckets_except"],
            json!(["no-bounded", "payroll", "sealed"])
        );
        assert_eq!(c("bounded")["readable_buckets"], json!(["logs"]));
        assert_eq!(c("bounded")["admin"], false);
        assert_eq!(c("granted")["readable_buckets"], json!(["vault"]));
        let outsider = c("outsider");
        assert_eq!(outsider["admin"], false, "the SCP takes S3 away");
        assert_eq!(outsider["readable_buckets"], json!([]));
        assert_eq!(outsider["reads_all_buckets"], false);
        assert_eq!(c("payroll")["readers"], 0);
        assert_eq!(
            c("logs")["reader_names"],
            json!(["all-but-payroll", "bounded"])
        );
        assert_eq!(
            c("vault")["reader_names"],
            json!(["all-but-payroll", "granted"])
        );
        assert_eq!(c("sealed")["readers"], 0);
        assert_eq!(c("no-bounded")["readers"], 0);
        assert_eq!(c("worker")["reads_sensitive_data"], true);
    }
}
