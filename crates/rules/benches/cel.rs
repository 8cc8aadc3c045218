//! Benchmarks of the rules engine.
//!
//! 1. `sg_port22/*`: the predicate "a security group lets the whole internet reach port 22",
//!    evaluated over 100,000 realistic security groups, as compiled CEL and as hand-written Rust.
//! 2. `pipeline/*`: parse a 100,000-asset Rampart snapshot and evaluate every built-in control.
//!
//! Run: `cargo bench -p rampart-rules --bench cel`. Figures are recorded in docs/benchmarks.md.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rampart_model::{Asset, Provider, ResourceType};
use rampart_rules::{Catalog, Program};
use serde_json::{Value, json};

const ASSETS: usize = 100_000;

/// A small deterministic generator (no external randomness: runs are comparable).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

fn permission(rng: &mut Lcg) -> Value {
    let (proto, from, to) = match rng.next() % 10 {
        0 => ("-1", -1, -1),
        1 => ("tcp", 0, 65535),
        2 => ("tcp", 20, 25),
        3 => ("tcp", 22, 22),
        4 => ("udp", 53, 53),
        5 => ("tcp", 3389, 3389),
        _ => ("tcp", 443, 443),
    };
    let cidr = rng.pick(&[
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.10.0/24",
        "10.20.0.0/16",
        "203.0.113.0/24",
        "0.0.0.0/0",
    ]);
    let mut ipv6 = Vec::new();
    if rng.next().is_multiple_of(8) {
        ipv6.push(json!({"cidrIpv6": rng.pick(&["::/0", "2001:db8::/32"]), "description": "v6"}));
    }
    json!({
        "ipProtocol": proto,
        "fromPort": from,
        "toPort": to,
        "ipv4Ranges": [
            {"cidrIp": "10.1.0.0/16", "description": "office"},
            {"cidrIp": cidr, "description": "rule"}
        ],
        "ipv6Ranges": ipv6,
        "prefixListIds": [],
        "userIdGroupPairs": [{"groupId": "sg-0a1b2c3d", "userId": "111122223333"}]
    })
}

fn security_groups(n: usize) -> Vec<Asset> {
    let t = ResourceType::parse("aws.ec2.security_group").expect("type");
    let mut rng = Lcg(42);
    let epoch = DateTime::UNIX_EPOCH;
    (0..n)
        .map(|i| {
            let perms: Vec<Value> = (0..1 + rng.next() % 6).map(|_| permission(&mut rng)).collect();
            let region = rng.pick(&["us-east-1", "eu-west-1", "ap-southeast-2"]);
            let native_id = format!("sg-{i:017x}");
            let config = json!({
                "groupId": native_id,
                "groupName": format!("app-{i}"),
                "description": "application tier",
                "vpcId": format!("vpc-{:08x}", i % 500),
                "ownerId": "111122223333",
                "ipPermissions": perms,
                "ipPermissionsEgress": [{"ipProtocol": "-1", "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipv6Ranges": []}],
                "tags": [{"key": "team", "value": "payments"}]
            });
            Asset {
                id: Asset::make_id(Provider::Aws, "111122223333", region, &t, &native_id),
                provider: Provider::Aws,
                account: "111122223333".into(),
                region: region.into(),
                resource_type: t.clone(),
                native_id,
                name: format!("app-{i}"),
                tags: BTreeMap::new(),
                config,
                first_seen: epoch,
                last_seen: epoch,
            }
        })
        .collect()
}

const PORT22_CEL: &str = r#"resource.config.ipPermissions.exists(p,
    (p.ipProtocol == "-1" || (p.ipProtocol == "tcp" && p.fromPort <= 22 && p.toPort >= 22)) &&
    (p.ipv4Ranges.exists(r, r.cidrIp == "0.0.0.0/0") || p.ipv6Ranges.exists(r, r.cidrIpv6 == "::/0")))"#;

/// The same predicate written by hand against serde_json.
fn port22_open_hand(asset: &Asset) -> Option<bool> {
    let perms = asset.config.get("ipPermissions")?.as_array()?;
    for p in perms {
        let proto = p.get("ipProtocol")?.as_str()?;
        let port_match = proto == "-1"
            || (proto == "tcp"
                && p.get("fromPort")?.as_i64()? <= 22
                && p.get("toPort")?.as_i64()? >= 22);
        if !port_match {
            continue;
        }
        let v4 = p
            .get("ipv4Ranges")?
            .as_array()?
            .iter()
            .any(|r| r.get("cidrIp").and_then(Value::as_str) == Some("0.0.0.0/0"));
        let v6 = p
            .get("ipv6Ranges")?
            .as_array()?
            .iter()
            .any(|r| r.get("cidrIpv6").and_then(Value::as_str) == Some("::/0"));
        if v4 || v6 {
            return Some(true);
        }
    }
    Some(false)
}

fn bench_predicate(c: &mut Criterion) {
    let assets = security_groups(ASSETS);
    let program = Program::compile(PORT22_CEL).expect("compile");
    let now = Utc::now();
    // Both implementations must agree on every asset before we time them.
    let mut open = 0;
    for a in &assets {
        let cel = program.eval_bool(a, now).expect("eval");
        assert_eq!(
            Some(cel),
            port22_open_hand(a),
            "disagreement on {}",
            a.native_id
        );
        open += usize::from(cel);
    }
    eprintln!("sg_port22: {open} of {ASSETS} groups open to the internet on port 22");

    let mut group = c.benchmark_group("sg_port22");
    group.throughput(Throughput::Elements(ASSETS as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function(BenchmarkId::new("compiled_cel", ASSETS), |b| {
        b.iter(|| {
            let mut n = 0usize;
            for a in &assets {
                n += usize::from(matches!(program.eval_bool(black_box(a), now), Ok(true)));
            }
            n
        })
    });
    group.bench_function(BenchmarkId::new("hand_written_rust", ASSETS), |b| {
        b.iter(|| {
            let mut n = 0usize;
            for a in &assets {
                n += usize::from(port22_open_hand(black_box(a)) == Some(true));
            }
            n
        })
    });
    group.finish();
}

fn bench_pipeline(c: &mut Criterion) {
    let catalog = Catalog::builtin().expect("built-in content loads");
    // A mixed inventory: re-use every control's fixtures as templates, renamed per copy.
    let templates: Vec<&Asset> = catalog
        .compiled_controls()
        .iter()
        .flat_map(|c| c.fixtures_pass.iter().chain(c.fixtures_fail.iter()))
        .map(|inv| &inv.assets[0])
        .collect();
    assert!(!templates.is_empty(), "built-in controls carry fixtures");
    let mut text = String::from("{\"rampart_snapshot\": 1, \"source\": \"bench\"}\n");
    for i in 0..ASSETS {
        let t = templates[i % templates.len()];
        let line = json!({
            "kind": "asset",
            "provider": t.provider.as_str(),
            "account": format!("{:012}", 100_000_000_000u64 + (i as u64 % 40)),
            "region": t.region,
            "type": t.resource_type.as_str(),
            "native_id": format!("{}-{i}", t.native_id),
            "name": format!("{}-{i}", t.name),
            "tags": t.tags,
            "config": t.config,
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    let now = Utc::now();
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(ASSETS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.bench_function(BenchmarkId::new("import", ASSETS), |b| {
        b.iter(|| {
            rampart_import::parse_snapshot("bench.jsonl", black_box(&text), now).expect("parse")
        })
    });
    let inventory = rampart_import::parse_snapshot("bench.jsonl", &text, now).expect("parse");
    group.bench_function(BenchmarkId::new("evaluate_all_controls", ASSETS), |b| {
        b.iter(|| catalog.evaluate(black_box(&inventory), now).len())
    });
    group.bench_function(BenchmarkId::new("import_and_evaluate", ASSETS), |b| {
        b.iter(|| {
            let inv = rampart_import::parse_snapshot("bench.jsonl", black_box(&text), now)
                .expect("parse");
            catalog.evaluate(&inv, now).len()
        })
    });
    group.finish();
    let evaluations = catalog.evaluate(&inventory, now).len();
    eprintln!(
        "pipeline: {ASSETS} assets, {} controls, {evaluations} evaluations per run",
        catalog.len()
    );
}

criterion_group!(benches, bench_predicate, bench_pipeline);
criterion_main!(benches);
