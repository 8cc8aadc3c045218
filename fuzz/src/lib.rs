//! Invariants shared by Rampart's fuzz targets.
//!
//! Every target checks more than "no panic":
//! - an import either fails with an [`ImportError`] naming the input (and, where it gives a
//!   line, a line inside the input) or returns an inventory whose asset ids are unique and
//!   derived from the asset's identity, whose relationships join existing assets, which the
//!   security graph can be built over, and which survives a round trip through the Rampart
//!   snapshot format unchanged;
//! - error messages and positions never slice inside a multi-byte character (they are
//!   formatted here, so a bad slice panics inside the target).

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, TimeZone, Utc};
use rampart_import::ImportError;
use rampart_model::{Asset, Inventory};
use rampart_rules::Graph;

/// The fixed observation time every target imports with.
pub fn observed_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
        .single()
        .expect("a valid time")
}

/// Number of lines of `text` as an error may count them (a final line without a newline counts).
pub fn line_count(text: &str) -> usize {
    text.split('\n').count()
}

/// Number of lines of YAML text: YAML breaks lines at `\r\n`, `\n` and a lone `\r`.
pub fn yaml_line_count(text: &str) -> usize {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .count()
}

/// How strictly an import error's line is checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LineRule {
    /// The line is a 1-based line of the text given to the parser.
    InText,
    /// The "line" may be a record index (Azure) or a line of decompressed text: only >= 1.
    Positive,
}

/// Checks an import result against the importer invariants.
pub fn check_import(
    names: &[&str],
    text_lines: usize,
    rule: LineRule,
    result: Result<Inventory, ImportError>,
) {
    match result {
        Err(e) => check_error(names, text_lines, rule, &e),
        Ok(inv) => check_inventory(&inv),
    }
}

pub fn check_error(names: &[&str], text_lines: usize, rule: LineRule, e: &ImportError) {
    assert!(
        names.contains(&e.file.as_str()),
        "the error names {:?}, not one of the inputs {names:?}: {e}",
        e.file
    );
    assert!(
        !e.message.trim().is_empty(),
        "an empty error message: {e:?}"
    );
    if let Some(line) = e.line {
        assert!(line >= 1, "line 0 in {e}");
        if rule == LineRule::InText {
            assert!(
                line <= text_lines,
                "line {line} is past the end of the input ({text_lines} lines): {e}"
            );
        }
    }
    // Formatting must not panic either.
    let _ = e.to_string();
}

pub fn check_inventory(inv: &Inventory) {
    let mut ids = HashSet::new();
    for a in &inv.assets {
        assert!(ids.insert(a.id.as_str()), "duplicate asset id {}", a.id);
        let expected = Asset::make_id(
            a.provider,
            &a.account,
            &a.region,
            &a.resource_type,
            &a.native_id,
        );
        assert_eq!(
            a.id, expected,
            "asset id is not derived from its identity: {a:?}"
        );
    }
    for r in &inv.relationships {
        assert!(
            ids.contains(r.from.as_str()),
            "relationship {r:?} starts at an asset that is not in the inventory"
        );
        assert!(
            ids.contains(r.to.as_str()),
            "relationship {r:?} ends at an asset that is not in the inventory"
        );
        assert!(!r.kind.is_empty(), "relationship without a kind: {r:?}");
    }
    // The graph (and its computed properties) is built over every imported inventory.
    let graph = Graph::build(inv);
    if let Some(first) = inv.assets.first() {
        let _ = graph.attack_paths(first, 5);
        let _ = graph.neighbours(first, 2);
    }
    check_snapshot_round_trip(inv);
}

/// What the snapshot format keeps of an asset (times are kept to the second, and per file).
type AssetKey = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

fn asset_key(a: &Asset) -> AssetKey {
    (
        a.id.clone(),
        a.provider.as_str().to_string(),
        a.account.clone(),
        a.region.clone(),
        a.resource_type.as_str().to_string(),
        a.native_id.clone(),
        a.name.clone(),
        format!("{:?}", a.tags),
        a.config.to_string(),
    )
}

/// Writes the inventory as a Rampart snapshot and reads it back: the same assets and
/// relationships must come out.
pub fn check_snapshot_round_trip(inv: &Inventory) {
    let mut out = Vec::new();
    if let Err(e) = rampart_import::write_snapshot(inv, &mut out) {
        // The one refusal: two assets sharing a native id (the snapshot's key for assets).
        let natives: HashSet<&str> = inv.assets.iter().map(|a| a.native_id.as_str()).collect();
        assert!(
            e.kind() == std::io::ErrorKind::InvalidData && natives.len() < inv.assets.len(),
            "the snapshot writer failed on an inventory with unique native ids: {e}"
        );
        assert!(out.is_empty(), "a refused snapshot was partly written");
        return;
    }
    let text = String::from_utf8(out).expect("the snapshot writer writes UTF-8");
    let back = match rampart_import::parse_snapshot("round-trip.jsonl", &text, observed_at()) {
        Ok(b) => b,
        Err(e) => panic!("a written snapshot does not read back: {e}\n{text}"),
    };
    let before: BTreeSet<AssetKey> = inv.assets.iter().map(asset_key).collect();
    let after: BTreeSet<AssetKey> = back.assets.iter().map(asset_key).collect();
    if before != after {
        let lost: Vec<_> = before.difference(&after).collect();
        let gained: Vec<_> = after.difference(&before).collect();
        panic!(
            "assets changed in a snapshot round trip:\n  written: {lost:?}\n  read back: {gained:?}"
        );
    }
    let before: BTreeSet<_> = inv.relationships.iter().cloned().collect();
    let after: BTreeSet<_> = back.relationships.iter().cloned().collect();
    assert_eq!(
        before, after,
        "relationships changed in a snapshot round trip"
    );
}

/// A small fixed inventory for evaluating CEL expressions: an instance with a security group
/// and a role, and a bucket with a policy, joined by relationships.
pub fn fixture_inventory() -> Inventory {
    let text = include_str!("fixture.jsonl");
    rampart_import::parse_snapshot("fixture.jsonl", text, observed_at())
        .expect("the fixture inventory parses")
}
