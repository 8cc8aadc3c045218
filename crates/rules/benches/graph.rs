//! Benchmark: build the security graph and compute every property for a large synthetic estate.
//!
//! `cargo bench -p rampart-rules --bench graph` (RAMPART_GRAPH_ASSETS=N, default 1,000,000).
//! Prints the time to build the graph state streamed from a generator (and its peak RSS), the
//! time to build it from an inventory held in memory, and the cost of bringing it up to date
//! after a scan that changed 1% of the assets, with its ratio to a full build.

use std::hint::black_box;
use std::time::Instant;

use chrono::DateTime;
use rampart_model::{Asset, Inventory, Provider, Relationship, ResourceType};
use rampart_rules::{Graph, GraphState};
use serde_json::json;

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A VPC-shaped estate: per 100 assets, 40 instances (each in a subnet, with 2 security groups,
/// a role and, for 18 of them, a volume), 10 security groups, 4 subnets with route tables and
/// ACLs, 5 roles with policies, 10 buckets.
fn estate(n: usize) -> Inventory {
    let mut inv = Inventory {
        assets: Vec::with_capacity(n),
        relationships: Vec::with_capacity(n * 2),
    };
    for b in 0..n / 100 {
        let (a, r) = block(b);
        inv.assets.extend(a);
        inv.relationships.extend(r);
    }
    inv
}

/// Block `b` of the estate: 100 assets and their relationships.
fn block(b: usize) -> (Vec<Asset>, Vec<Relationship>) {
    let epoch = DateTime::UNIX_EPOCH;
    let mut assets = Vec::with_capacity(100);
    let mut relationships = Vec::with_capacity(200);
    let mk = |i: usize, t: &str, config: serde_json::Value| {
        let rt = ResourceType::parse(t).expect("type");
        let native = format!("{t}/{i}");
        Asset {
            id: Asset::make_id(Provider::Aws, "111122223333", "eu-west-1", &rt, &native),
            provider: Provider::Aws,
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            resource_type: rt,
            native_id: native,
            name: format!("r{i}"),
            tags: Default::default(),
            config,
            first_seen: epoch,
            last_seen: epoch,
        }
    };
    {
        let base = b * 100;
        let id = |k: usize| base + k;
        let first = assets.len();
        for k in 0..4 {
            assets.push(mk(
                id(k),
                "aws.ec2.subnet",
                json!({"subnetId": format!("subnet-{}", id(k))}),
            ));
            assets.push(mk(id(4 + k), "aws.ec2.route_table", json!({"routes": [
                {"destinationCidrBlock": "10.0.0.0/16", "gatewayId": "local", "state": "active"},
                {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": if k < 2 { "igw-1" } else { "nat-1" }, "state": "active"}]})));
            assets.push(mk(id(8 + k), "aws.ec2.network_acl", json!({"entries": [
                {"ruleNumber": 100, "protocol": "-1", "ruleAction": "allow", "egress": false, "cidrBlock": "0.0.0.0/0"}]})));
        }
        for k in 0..10 {
            let cidr = if k % 3 == 0 {
                "0.0.0.0/0"
            } else {
                "10.0.0.0/8"
            };
            assets.push(mk(id(12 + k), "aws.ec2.security_group", json!({"ipPermissions": [
                {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": [{"cidrIp": cidr}], "ipv6Ranges": []},
                {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": [{"cidrIp": "10.0.0.0/8"}], "ipv6Ranges": []}]})));
        }
        for k in 0..5 {
            let doc = if k == 0 {
                json!({"Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]})
            } else {
                json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}]})
            };
            assets.push(mk(
                id(22 + k),
                "aws.iam.role",
                json!({"roleName": format!("role-{}", id(22 + k)), "rolePolicyList": []}),
            ));
            assets.push(mk(id(27 + k), "aws.iam.policy", json!({"document": doc})));
        }
        for k in 0..10 {
            assets.push(mk(id(32 + k), "aws.s3.bucket", json!({"name": format!("b-{}", id(32 + k)),
                "publicAccessBlock": {"blockPublicAcls": k != 0, "ignorePublicAcls": k != 0, "blockPublicPolicy": k != 0, "restrictPublicBuckets": k != 0}})));
        }
        for k in 0..40 {
            let mut cfg = json!({"instanceId": format!("i-{}", id(42 + k)), "state": {"name": "running"},
                "metadataOptions": {"httpTokens": "required"}});
            if k % 4 == 0 {
                cfg["publicIpAddress"] = json!("203.0.113.7");
            }
            assets.push(mk(id(42 + k), "aws.ec2.instance", cfg));
        }
        for k in 0..18 {
            assets.push(mk(
                id(82 + k),
                "aws.ec2.volume",
                json!({"volumeId": format!("vol-{}", id(82 + k)), "encrypted": k % 5 != 0}),
            ));
        }
        let a = |k: usize| assets[first + k].id.clone();
        // Layout of this block's slice: 12 network assets (interleaved), 10 SGs, 10 role/policy, 10 buckets, 40 instances, 18 volumes.
        for k in 0..4 {
            relationships.push(Relationship {
                from: a(3 * k + 1),
                to: a(3 * k),
                kind: "associated_with".into(),
            });
            relationships.push(Relationship {
                from: a(3 * k + 2),
                to: a(3 * k),
                kind: "associated_with".into(),
            });
        }
        for k in 0..5 {
            relationships.push(Relationship {
                from: a(22 + 2 * k),
                to: a(23 + 2 * k),
                kind: "attached_to".into(),
            });
        }
        for k in 0..40 {
            let inst = a(42 + k);
            relationships.push(Relationship {
                from: inst.clone(),
                to: a(3 * (k % 4)),
                kind: "contained_in".into(),
            });
            relationships.push(Relationship {
                from: inst.clone(),
                to: a(12 + k % 10),
                kind: "uses".into(),
            });
            relationships.push(Relationship {
                from: inst.clone(),
                to: a(12 + (k + 3) % 10),
                kind: "uses".into(),
            });
            relationships.push(Relationship {
                from: inst.clone(),
                to: a(22 + 2 * (k % 5)),
                kind: "uses".into(),
            });
            if k < 18 {
                relationships.push(Relationship {
                    from: a(82 + k),
                    to: inst,
                    kind: "attached_to".into(),
                });
            }
        }
    }
    (assets, relationships)
}

/// Changes the configuration of one asset the way a scan might (a setting flipped).
fn mutate(a: &mut Asset) {
    let c = &mut a.config;
    match a.resource_type.as_str() {
        "aws.ec2.instance" => {
            if c.get("publicIpAddress").is_some() {
                c.as_object_mut().map(|m| m.remove("publicIpAddress"));
            } else {
                c["publicIpAddress"] = json!("198.51.100.4");
            }
        }
        "aws.ec2.security_group" => {
            let cidr = &mut c["ipPermissions"][0]["ipRanges"][0]["cidrIp"];
            *cidr = json!(if cidr == "0.0.0.0/0" {
                "10.0.0.0/8"
            } else {
                "0.0.0.0/0"
            });
        }
        "aws.ec2.route_table" => {
            let gw = &mut c["routes"][1]["gatewayId"];
            *gw = json!(if gw == "igw-1" { "nat-1" } else { "igw-1" });
        }
        _ => {
            if let Some(m) = c.as_object_mut()
                && m.remove("rampartBenchRevision").is_none()
            {
                m.insert("rampartBenchRevision".into(), json!(1));
            }
        }
    }
}

fn exposed_count(state: &GraphState, inventory: &Inventory) -> usize {
    let graph = Graph::over(state, inventory);
    inventory
        .assets
        .iter()
        .filter(|a| {
            graph
                .computed(a)
                .and_then(|c| c.get("internet_exposed").and_then(|v| v.as_bool()))
                == Some(true)
        })
        .count()
}

fn main() {
    let n: usize = std::env::var("RAMPART_GRAPH_ASSETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let blocks = n / 100;

    // 1. The graph streamed from a source (as from the store or a file), without holding the
    //    inventory: what a worker keeps between scans.
    let rss0 = rss_kib("VmRSS:");
    let t = Instant::now();
    let mut state = GraphState::new();
    state.reserve(n, n * 2);
    for b in 0..blocks {
        let (assets, relationships) = block(b);
        for a in &assets {
            state.upsert(a);
        }
        for r in &relationships {
            state.relate(&r.from, &r.kind, &r.to);
        }
    }
    state.commit();
    let streamed = t.elapsed();
    let state_mib = mib(rss_kib("VmRSS:").saturating_sub(rss0));
    let streamed_peak = mib(rss_kib("VmHWM:"));
    println!(
        "streamed build (generate + graph + all properties), {} assets / {} edges: {:.2?}; graph state resident {:.0} MiB; peak RSS {:.0} MiB",
        state.asset_count(),
        state.edge_count(),
        streamed,
        state_mib,
        streamed_peak
    );
    drop(state);

    // 2. The graph of an inventory held in memory (what an evaluation does), timed alone.
    let rss0 = rss_kib("VmRSS:");
    let t = Instant::now();
    let mut inventory = estate(n);
    let gen_time = t.elapsed();
    let rss1 = rss_kib("VmRSS:");
    eprintln!(
        "estate: {} assets, {} relationships generated in {:.2?}; inventory resident {:.0} MiB",
        inventory.assets.len(),
        inventory.relationships.len(),
        gen_time,
        mib(rss1.saturating_sub(rss0))
    );
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let state = GraphState::build(black_box(&inventory));
        times.push(t.elapsed());
        drop(state);
    }
    times.sort();
    let full = times[1];
    let mut state = GraphState::build(&inventory);
    println!(
        "full build from the inventory: median {:.2?} (min {:.2?}, max {:.2?}); {} internet-exposed instances; peak RSS with the inventory {:.0} MiB",
        full,
        times[0],
        times[2],
        exposed_count(&state, &inventory),
        mib(rss_kib("VmHWM:"))
    );

    // 3. A scan that changed 1% of the assets: one per block of 100, at a position that moves
    //    through the block so every type is hit.
    let changed: Vec<usize> = (0..blocks).map(|b| b * 100 + (b * 37) % 100).collect();
    for &i in &changed {
        mutate(&mut inventory.assets[i]);
    }
    let t = Instant::now();
    for &i in &changed {
        state.upsert(&inventory.assets[i]);
    }
    let stats = state.commit();
    let delta = t.elapsed();
    let fresh = GraphState::build(&inventory);
    let agree = exposed_count(&state, &inventory) == exposed_count(&fresh, &inventory);
    drop(fresh);
    println!(
        "1% changed ({} assets), given the changes: {:.2?}, {} properties recomputed; ratio to a full build {:.3}; agrees with a fresh build: {}",
        stats.changed,
        delta,
        stats.recomputed,
        delta.as_secs_f64() / full.as_secs_f64(),
        agree
    );
    for &i in &changed {
        mutate(&mut inventory.assets[i]);
    }
    let t = Instant::now();
    let stats = state.sync(&inventory);
    let synced = t.elapsed();
    println!(
        "1% changed back, found by comparing the whole inventory (sync): {:.2?}, {} changed, {} recomputed; ratio to a full build {:.3}",
        synced,
        stats.changed,
        stats.recomputed,
        synced.as_secs_f64() / full.as_secs_f64()
    );
    assert!(agree, "incremental result differs from a fresh build");
}
