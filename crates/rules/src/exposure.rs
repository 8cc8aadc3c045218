//! Internet exposure and public data stores on GCP and Azure, the counterparts of the AWS
//! properties in `computed.rs`, from the same inventory graph:
//!
//! | type | property | meaning |
//! | --- | --- | --- |
//! | `gcp.compute.instance` | `internet_exposed`, `exposed_ports` | running, an interface has an external address (`accessConfigs`), and the firewall rules of its networks that apply to it (all instances, its network tags or its service account) admit ports from `0.0.0.0/0` or `::/0`, rules taken in priority order (a deny wins a tie) |
//! | `gcp.storage.bucket` | `public` | an IAM binding names `allUsers` or `allAuthenticatedUsers` and public access prevention is not `enforced` |
//! | `azure.compute.vm` | `internet_exposed`, `exposed_ports` | a network interface has a public IP address, and the inbound ports the internet may reach through both its interface's and its subnet's network security groups (each taken in priority order, first match decides; a level without a group admits everything) |
//! | `azure.storage.account` | `public` | anonymous blob access is allowed, public network access is not disabled and the firewall's default action is not `Deny` |
//!
//! Ports are inclusive `[from, to]` ranges; a rule without ports (or `*`) covers 0–65535.

use serde_json::Value as Json;

use crate::graph::Step;
use crate::state::{Facts, GraphState, Props};

/// Inclusive port ranges, sorted and merged.
type Ranges = Vec<(i64, i64)>;

const ALL_PORTS: (i64, i64) = (0, 65535);

fn merge(mut r: Ranges) -> Ranges {
    r.sort_unstable();
    let mut out: Ranges = Vec::with_capacity(r.len());
    for (a, b) in r {
        match out.last_mut() {
            Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// `a` without `b`.
fn subtract(a: &Ranges, b: &Ranges) -> Ranges {
    let mut out = Vec::new();
    for &(mut from, to) in a {
        for &(bf, bt) in b {
            if bt < from || bf > to {
                continue;
            }
            if bf > from {
                out.push((from, bf - 1));
            }
            from = bt + 1;
            if from > to {
                break;
            }
        }
        if from <= to {
            out.push((from, to));
        }
    }
    merge(out)
}

fn intersect(a: &Ranges, b: &Ranges) -> Ranges {
    let mut out = Vec::new();
    for &(af, at) in a {
        for &(bf, bt) in b {
            let (f, t) = (af.max(bf), at.min(bt));
            if f <= t {
                out.push((f, t));
            }
        }
    }
    merge(out)
}

/// A rule that matches traffic from the internet: lower `priority` is evaluated first, and at
/// equal priority a deny before an allow.
struct Rule {
    priority: i64,
    allow: bool,
    ports: Ranges,
}

/// The ports the first-matching rules leave open.
fn first_match(mut rules: Vec<Rule>) -> Ranges {
    rules.sort_by_key(|r| (r.priority, r.allow));
    let mut decided: Ranges = Vec::new();
    let mut open: Ranges = Vec::new();
    for r in rules {
        let fresh = subtract(&merge(r.ports), &decided);
        if r.allow {
            open.extend(fresh.iter().copied());
        }
        decided.extend(fresh);
        decided = merge(decided);
    }
    merge(open)
}

/// `"22"`, `"1000-2000"`, `"*"` → a range.
fn port_spec(s: &str) -> Option<(i64, i64)> {
    let s = s.trim();
    if s == "*" || s.is_empty() {
        return Some(ALL_PORTS);
    }
    match s.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => s.parse().ok().map(|p| (p, p)),
    }
}

fn strs(v: Option<&Json>) -> Vec<&str> {
    v.and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default()
}

fn step(kind: &str, incoming: bool) -> Step {
    Step {
        kind: Some(kind.to_string()),
        incoming,
    }
}

// ----- GCP ----------------------------------------------------------------------------------

const INTERNET_CIDRS: &[&str] = &["0.0.0.0/0", "::/0"];

/// The ports of a GCP firewall rule's `allowed` / `denied` entries (`all` and `icmp` without
/// ports count as every port).
fn gcp_ports(entries: Option<&Json>) -> Ranges {
    let mut out = Vec::new();
    for e in entries.and_then(Json::as_array).into_iter().flatten() {
        let ports = strs(e.get("ports"));
        if ports.is_empty() {
            out.push(ALL_PORTS);
        } else {
            out.extend(ports.into_iter().filter_map(port_spec));
        }
    }
    merge(out)
}

/// What exposure needs from a GCP instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GcpInstanceFacts {
    running: bool,
    external: bool,
    tags: Vec<Box<str>>,
    accounts: Vec<Box<str>>,
}

/// What exposure needs from a GCP firewall rule that admits internet ingress (`None` facts
/// for any other rule: it cannot open or close an internet path).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FirewallFacts {
    target_tags: Vec<Box<str>>,
    target_accounts: Vec<Box<str>>,
    priority: i64,
    denied: Option<Ranges>,
    allowed: Option<Ranges>,
}

fn boxed(v: Vec<&str>) -> Vec<Box<str>> {
    v.into_iter().map(Into::into).collect()
}

/// The facts of a GCP or Azure asset.
pub(crate) fn extract(t: &str, c: &Json) -> Facts {
    match t {
        "gcp.compute.instance" => Facts::GcpInstance(Box::new(GcpInstanceFacts {
            running: c
                .get("status")
                .and_then(Json::as_str)
                .is_none_or(|s| s == "RUNNING"),
            external: c
                .get("networkInterfaces")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .any(|n| {
                    n.get("accessConfigs")
                        .and_then(Json::as_array)
                        .is_some_and(|a| !a.is_empty())
                }),
            tags: boxed(strs(c.pointer("/tags/items"))),
            accounts: c
                .get("serviceAccounts")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.get("email").and_then(Json::as_str))
                .map(Into::into)
                .collect(),
        })),
        "gcp.compute.firewall" => {
            let ingress = c
                .get("direction")
                .and_then(Json::as_str)
                .is_none_or(|d| d == "INGRESS");
            let enabled = c.get("disabled").and_then(Json::as_bool) != Some(true);
            let from_internet = strs(c.get("sourceRanges"))
                .iter()
                .any(|r| INTERNET_CIDRS.contains(r));
            if !(ingress && enabled && from_internet) {
                return Facts::Other;
            }
            Facts::GcpFirewall(Box::new(FirewallFacts {
                target_tags: boxed(strs(c.get("targetTags"))),
                target_accounts: boxed(strs(c.get("targetServiceAccounts"))),
                priority: c.get("priority").and_then(Json::as_i64).unwrap_or(1000),
                denied: c.get("denied").map(|d| gcp_ports(Some(d))),
                allowed: c.get("allowed").map(|d| gcp_ports(Some(d))),
            }))
        }
        "gcp.storage.bucket" => Facts::Public(gcp_bucket_public(c)),
        "azure.network.nsg" => Facts::Nsg {
            open: nsg_open(c).into(),
        },
        "azure.storage.account" => Facts::Public(azure_storage_public(c)),
        _ => Facts::Other,
    }
}

pub(crate) fn gcp_instance(state: &GraphState, slot: u32) -> Props {
    let Facts::GcpInstance(vm) = &state.facts[slot as usize] else {
        return Props::None;
    };
    let mut rules = Vec::new();
    for fw in state.follow(
        slot,
        &[step("attached_to", false), step("applies_to", true)],
    ) {
        let Facts::GcpFirewall(f) = &state.facts[fw as usize] else {
            continue;
        };
        let applies = (f.target_tags.is_empty() && f.target_accounts.is_empty())
            || f.target_tags.iter().any(|t| vm.tags.contains(t))
            || f.target_accounts.iter().any(|t| vm.accounts.contains(t));
        if !applies {
            continue;
        }
        if let Some(ports) = &f.denied {
            rules.push(Rule {
                priority: f.priority,
                allow: false,
                ports: ports.clone(),
            });
        }
        if let Some(ports) = &f.allowed {
            rules.push(Rule {
                priority: f.priority,
                allow: true,
                ports: ports.clone(),
            });
        }
    }
    let open = first_match(rules);
    let exposed = vm.running && vm.external && !open.is_empty();
    Props::Exposure {
        exposed,
        ports: if exposed { open.into() } else { Box::new([]) },
    }
}

fn gcp_bucket_public(config: &Json) -> bool {
    let enforced = config
        .pointer("/iamConfiguration/publicAccessPrevention")
        .and_then(Json::as_str)
        == Some("enforced");
    let bound = config
        .pointer("/iamPolicy/bindings")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .any(|b| {
            strs(b.get("members"))
                .iter()
                .any(|m| *m == "allUsers" || *m == "allAuthenticatedUsers")
        });
    bound && !enforced
}

// ----- Azure --------------------------------------------------------------------------------

const INTERNET_PREFIXES: &[&str] = &["*", "0.0.0.0", "0.0.0.0/0", "Internet", "Any", "::/0"];

/// The ports a network security group admits from the internet (inbound rules and the default
/// rules in priority order; without default rules listed, Azure's `DenyAllInBound` at 65500).
fn nsg_open(nsg: &Json) -> Ranges {
    let mut rules = Vec::new();
    let defaults = nsg.pointer("/properties/defaultSecurityRules");
    let listed = nsg
        .pointer("/properties/securityRules")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .chain(defaults.and_then(Json::as_array).into_iter().flatten());
    for r in listed {
        let p = r.get("properties").unwrap_or(r);
        let get = |k: &str| p.get(k).and_then(Json::as_str).unwrap_or_default();
        if !get("direction").eq_ignore_ascii_case("inbound") {
            continue;
        }
        let mut sources = strs(p.get("sourceAddressPrefixes"));
        sources.push(get("sourceAddressPrefix"));
        if !sources
            .iter()
            .any(|s| INTERNET_PREFIXES.iter().any(|i| i.eq_ignore_ascii_case(s)))
        {
            continue;
        }
        let mut ports: Ranges = strs(p.get("destinationPortRanges"))
            .into_iter()
            .filter_map(port_spec)
            .collect();
        if let Some(r) = p
            .get("destinationPortRange")
            .and_then(Json::as_str)
            .and_then(port_spec)
        {
            ports.push(r);
        }
        rules.push(Rule {
            priority: p.get("priority").and_then(Json::as_i64).unwrap_or(65000),
            allow: get("access").eq_ignore_ascii_case("allow"),
            ports,
        });
    }
    if defaults.is_none() {
        rules.push(Rule {
            priority: 65500,
            allow: false,
            ports: vec![ALL_PORTS],
        });
    }
    first_match(rules)
}

/// The ports open through a level's groups: everything without a group, else what every group
/// of the level admits.
fn level_open(state: &GraphState, groups: &[u32]) -> Ranges {
    let mut open = vec![ALL_PORTS];
    for &g in groups {
        if let Facts::Nsg { open: admits } = &state.facts[g as usize] {
            open = intersect(&open, &admits.to_vec());
        }
    }
    open
}

pub(crate) fn azure_vm(state: &GraphState, slot: u32) -> Props {
    let mut open_any: Ranges = Vec::new();
    for nic in state.step(slot, "uses", false) {
        if state.type_of(nic) != "azure.network.nic" {
            continue;
        }
        let neighbours = state.step(nic, "uses", false);
        let public = neighbours
            .iter()
            .any(|&a| state.type_of(a) == "azure.network.publicip");
        if !public {
            continue;
        }
        let nsg = |a: &u32| state.type_of(*a) == "azure.network.nsg";
        let nic_groups: Vec<u32> = neighbours.iter().copied().filter(nsg).collect();
        let subnet_groups: Vec<u32> = state
            .follow(nic, &[step("attached_to", false), step("uses", false)])
            .into_iter()
            .filter(nsg)
            .collect();
        let open = intersect(
            &level_open(state, &nic_groups),
            &level_open(state, &subnet_groups),
        );
        open_any.extend(open);
    }
    let open = merge(open_any);
    Props::Exposure {
        exposed: !open.is_empty(),
        ports: open.into(),
    }
}

fn azure_storage_public(config: &Json) -> bool {
    let p = config.get("properties").unwrap_or(config);
    let anonymous = p.get("allowBlobPublicAccess").and_then(Json::as_bool) == Some(true);
    let network_open = p.get("publicNetworkAccess").and_then(Json::as_str) != Some("Disabled")
        && p.pointer("/networkAcls/defaultAction")
            .and_then(Json::as_str)
            != Some("Deny");
    anonymous && network_open
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
            provider: if t.starts_with("gcp.") {
                Provider::Gcp
            } else {
                Provider::Azure
            },
            account: "p".into(),
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

    #[test]
    fn range_arithmetic() {
        assert_eq!(
            subtract(&vec![(0, 100)], &vec![(10, 20)]),
            [(0, 9), (21, 100)]
        );
        assert_eq!(subtract(&vec![(22, 22)], &vec![ALL_PORTS]), []);
        assert_eq!(intersect(&vec![(0, 100)], &vec![(50, 200)]), [(50, 100)]);
        assert_eq!(merge(vec![(5, 9), (0, 4), (20, 30)]), [(0, 9), (20, 30)]);
        assert_eq!(port_spec("1000-2000"), Some((1000, 2000)));
        assert_eq!(port_spec("*"), Some(ALL_PORTS));
        assert_eq!(port_spec("x"), None);
        let open = first_match(vec![
            Rule {
                priority: 100,
                allow: false,
                ports: vec![(22, 22)],
            },
            Rule {
                priority: 200,
                allow: true,
                ports: vec![(0, 1024)],
            },
            Rule {
                priority: 200,
                allow: false,
                ports: vec![(80, 80)],
            },
        ]);
        assert_eq!(open, [(0, 21), (23, 79), (81, 1024)]);
    }

    /// One instance on one network with firewall rules
    /// (priority, allow, ports, source, target tag).
    type FwRule = (
        i64,
        bool,
        &'static [&'static str],
        &'static str,
        Option<&'static str>,
    );

    fn gcp(external: bool, status: &str, rules: &[FwRule]) -> (bool, Json) {
        let mut nic = json!({"network": "net"});
        if external {
            nic["accessConfigs"] = json!([{"natIP": "203.0.113.7"}]);
        }
        let mut assets = vec![
            asset(
                "vm",
                "gcp.compute.instance",
                json!({"status": status, "networkInterfaces": [nic], "tags": {"items": ["web"]}}),
            ),
            asset("net", "gcp.compute.network", json!({})),
        ];
        let mut relationships = vec![rel("vm", "net", "attached_to")];
        for (i, (priority, allow, ports, source, tag)) in rules.iter().enumerate() {
            let id = format!("fw{i}");
            let entry = json!([{"IPProtocol": "tcp", "ports": ports}]);
            let mut f =
                json!({"direction": "INGRESS", "priority": priority, "sourceRanges": [source]});
            f[if *allow { "allowed" } else { "denied" }] = entry;
            if let Some(t) = tag {
                f["targetTags"] = json!([t]);
            }
            assets.push(asset(&id, "gcp.compute.firewall", f));
            relationships.push(rel(&id, "net", "applies_to"));
        }
        let inv = Inventory {
            assets,
            relationships,
        };
        let g = Graph::build(&inv);
        let c = g.computed(&inv.assets[0]).unwrap().clone();
        (
            c["internet_exposed"].as_bool().unwrap(),
            c["exposed_ports"].clone(),
        )
    }

    #[test]
    fn gcp_instance_exposure_needs_an_external_address_and_an_applying_internet_rule() {
        let ssh: FwRule = (1000, true, &["22"], "0.0.0.0/0", None);
        assert_eq!(gcp(true, "RUNNING", &[ssh]), (true, json!([[22, 22]])));
        assert!(!gcp(false, "RUNNING", &[ssh]).0, "no external address");
        assert!(!gcp(true, "TERMINATED", &[ssh]).0, "stopped");
        assert!(
            !gcp(
                true,
                "RUNNING",
                &[(1000, true, &["22"], "10.0.0.0/8", None)]
            )
            .0,
            "private source range"
        );
        assert!(
            !gcp(
                true,
                "RUNNING",
                &[(1000, true, &["22"], "0.0.0.0/0", Some("db"))]
            )
            .0,
            "targets another tag"
        );
        assert!(
            gcp(
                true,
                "RUNNING",
                &[(1000, true, &["22"], "0.0.0.0/0", Some("web"))]
            )
            .0,
            "targets the instance's tag"
        );
        assert!(
            !gcp(
                true,
                "RUNNING",
                &[ssh, (900, false, &[], "0.0.0.0/0", None)]
            )
            .0,
            "a higher-priority deny of every port"
        );
        assert_eq!(
            gcp(
                true,
                "RUNNING",
                &[
                    (1000, true, &["0-1024"], "0.0.0.0/0", None),
                    (1000, false, &["22"], "0.0.0.0/0", None)
                ]
            )
            .1,
            json!([[0, 21], [23, 1024]]),
            "a deny wins a tie"
        );
        assert!(
            gcp(
                true,
                "RUNNING",
                &[ssh, (2000, false, &[], "0.0.0.0/0", None)]
            )
            .0,
            "a lower-priority deny does not"
        );
    }

    #[test]
    fn adding_a_gcp_deny_never_increases_exposure() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        const PORTS: &[&[&str]] = &[&["22"], &["80", "443"], &["0-65535"], &["3000-4000"], &[]];
        for _ in 0..200 {
            let mut rules: Vec<FwRule> = (0..1 + next() % 4)
                .map(|_| {
                    (
                        (next() % 3000) as i64,
                        next() % 3 != 0,
                        PORTS[(next() % PORTS.len() as u64) as usize],
                        "0.0.0.0/0",
                        None,
                    )
                })
                .collect();
            let (_, before) = gcp(true, "RUNNING", &rules);
            rules.push((
                (next() % 3000) as i64,
                false,
                PORTS[(next() % PORTS.len() as u64) as usize],
                "0.0.0.0/0",
                None,
            ));
            let (_, after) = gcp(true, "RUNNING", &rules);
            let as_ranges = |j: &Json| -> Ranges {
                j.as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_i64().unwrap(), p[1].as_i64().unwrap()))
                    .collect()
            };
            assert!(
                subtract(&as_ranges(&after), &as_ranges(&before)).is_empty(),
                "a deny opened ports: {before} → {after}"
            );
        }
    }

    #[test]
    fn gcp_bucket_publicity() {
        let public = json!({"iamPolicy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]}});
        assert_eq!(json!(gcp_bucket_public(&public)), json!(true));
        let mut prevented = public.clone();
        prevented["iamConfiguration"] = json!({"publicAccessPrevention": "enforced"});
        assert_eq!(json!(gcp_bucket_public(&prevented)), json!(false));
        let private = json!({"iamPolicy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["group:data@example.com"]}]}});
        assert_eq!(json!(gcp_bucket_public(&private)), json!(false));
        assert!(!gcp_bucket_public(&json!({})));
    }

    /// (priority, allow, port range, source)
    type NsgRule = (i64, bool, &'static str, &'static str);

    fn nsg(rules: &[NsgRule]) -> Json {
        let rules: Vec<Json> = rules
            .iter()
            .map(|(priority, allow, port, source)| json!({"properties": {"direction": "Inbound", "access": if *allow { "Allow" } else { "Deny" }, "priority": priority, "protocol": "Tcp", "sourceAddressPrefix": source, "destinationPortRange": port}}))
            .collect();
        json!({"properties": {"securityRules": rules}})
    }

    fn azure(
        public_ip: bool,
        nic_nsg: Option<&[NsgRule]>,
        subnet_nsg: Option<&[NsgRule]>,
    ) -> (bool, Json) {
        let mut assets = vec![
            asset("vm", "azure.compute.vm", json!({})),
            asset("nic", "azure.network.nic", json!({})),
            asset("subnet", "azure.network.subnets", json!({})),
        ];
        let mut relationships = vec![
            rel("vm", "nic", "uses"),
            rel("nic", "subnet", "attached_to"),
        ];
        if public_ip {
            assets.push(asset(
                "pip",
                "azure.network.publicip",
                json!({"properties": {"ipAddress": "203.0.113.9"}}),
            ));
            relationships.push(rel("nic", "pip", "uses"));
        }
        if let Some(r) = nic_nsg {
            assets.push(asset("nsg-nic", "azure.network.nsg", nsg(r)));
            relationships.push(rel("nic", "nsg-nic", "uses"));
        }
        if let Some(r) = subnet_nsg {
            assets.push(asset("nsg-subnet", "azure.network.nsg", nsg(r)));
            relationships.push(rel("subnet", "nsg-subnet", "uses"));
        }
        let inv = Inventory {
            assets,
            relationships,
        };
        let g = Graph::build(&inv);
        let c = g.computed(&inv.assets[0]).unwrap().clone();
        (
            c["internet_exposed"].as_bool().unwrap(),
            c["exposed_ports"].clone(),
        )
    }

    #[test]
    fn azure_vm_exposure_goes_through_both_security_group_levels() {
        let rdp: &[NsgRule] = &[(100, true, "3389", "Internet")];
        let https: &[NsgRule] = &[(100, true, "443", "*")];
        assert_eq!(azure(true, Some(rdp), None), (true, json!([[3389, 3389]])));
        assert!(!azure(false, Some(rdp), None).0, "no public IP");
        assert!(
            !azure(true, Some(rdp), Some(https)).0,
            "the subnet group admits only 443"
        );
        assert_eq!(
            azure(true, None, None).1,
            json!([[0, 65535]]),
            "no group at all"
        );
        assert!(
            !azure(true, Some(&[]), None).0,
            "only the default DenyAllInBound"
        );
        assert!(
            !azure(true, Some(&[(100, true, "3389", "10.0.0.0/8")]), None).0,
            "private source"
        );
        assert!(
            !azure(
                true,
                Some(&[(90, false, "*", "*"), (100, true, "3389", "*")]),
                None
            )
            .0,
            "an earlier deny"
        );
        assert!(
            azure(
                true,
                Some(&[(200, false, "*", "*"), (100, true, "3389", "*")]),
                None
            )
            .0,
            "a later deny does not"
        );
    }

    #[test]
    fn azure_storage_publicity() {
        let open = json!({"properties": {"allowBlobPublicAccess": true, "publicNetworkAccess": "Enabled", "networkAcls": {"defaultAction": "Allow"}}});
        assert_eq!(json!(azure_storage_public(&open)), json!(true));
        let mut closed = open.clone();
        closed["properties"]["allowBlobPublicAccess"] = json!(false);
        assert_eq!(json!(azure_storage_public(&closed)), json!(false));
        let mut firewalled = open.clone();
        firewalled["properties"]["networkAcls"]["defaultAction"] = json!("Deny");
        assert_eq!(json!(azure_storage_public(&firewalled)), json!(false));
        let mut private = open;
        private["properties"]["publicNetworkAccess"] = json!("Disabled");
        assert_eq!(json!(azure_storage_public(&private)), json!(false));
    }
}
