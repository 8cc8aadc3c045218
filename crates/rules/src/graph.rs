//! The relationship graph of one inventory, for cross-resource controls.
//!
//! Assets get dense `u32` ids (their position in the inventory); edges are stored twice in
//! compressed sparse rows — outgoing and incoming — as `(kind, neighbour)` pairs of `u32`, so the
//! graph costs 16 bytes per edge plus 8 per asset, with no per-edge heap object.

use std::collections::HashMap;

use rampart_model::{Asset, Inventory};

/// One step of a `related()` path: an edge kind (`*` for any) followed forwards or backwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub kind: Option<String>,
    pub incoming: bool,
}

/// Parses `"uses"`, `"uses.attached_to"`, `"~uses"` (incoming edge), `"*"` (any kind).
pub(crate) fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    if path.trim().is_empty() {
        return Err("related() needs a path of edge kinds, e.g. 'uses' or '~attached_to'".into());
    }
    path.split('.')
        .map(|raw| {
            let (incoming, kind) = match raw.strip_prefix('~') {
                Some(k) => (true, k),
                None => (false, raw),
            };
            if kind == "*" {
                return Ok(Step {
                    kind: None,
                    incoming,
                });
            }
            if kind.is_empty()
                || !kind
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(format!(
                    "invalid edge kind {raw:?} in related() path {path:?}: use snake_case kinds, `~` for incoming edges, `*` for any"
                ));
            }
            Ok(Step {
                kind: Some(kind.to_string()),
                incoming,
            })
        })
        .collect()
}

/// Adjacency of an inventory's assets.
pub struct Graph<'a> {
    assets: &'a [Asset],
    index: HashMap<&'a str, u32>,
    kinds: HashMap<&'a str, u32>,
    out_offsets: Vec<u32>,
    out_edges: Vec<(u32, u32)>,
    in_offsets: Vec<u32>,
    in_edges: Vec<(u32, u32)>,
    /// Computed properties per asset position (see `computed.rs`).
    computed: Vec<serde_json::Value>,
}

impl std::fmt::Debug for Graph<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("assets", &self.assets.len())
            .field("edges", &self.out_edges.len())
            .finish()
    }
}

impl<'a> Graph<'a> {
    /// Builds the graph; relationships naming unknown assets are ignored.
    pub fn build(inventory: &'a Inventory) -> Graph<'a> {
        let assets = inventory.assets.as_slice();
        let index: HashMap<&str, u32> = assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i as u32))
            .collect();
        let mut kinds: HashMap<&str, u32> = HashMap::new();
        let mut edges: Vec<(u32, u32, u32)> = Vec::with_capacity(inventory.relationships.len());
        for r in &inventory.relationships {
            let (Some(&from), Some(&to)) = (index.get(r.from.as_str()), index.get(r.to.as_str()))
            else {
                continue;
            };
            let next = kinds.len() as u32;
            let kind = *kinds.entry(r.kind.as_str()).or_insert(next);
            edges.push((from, kind, to));
        }
        let (out_offsets, out_edges) = csr(assets.len(), edges.iter().map(|&(f, k, t)| (f, k, t)));
        let (in_offsets, in_edges) = csr(assets.len(), edges.iter().map(|&(f, k, t)| (t, k, f)));
        let mut graph = Graph {
            assets,
            index,
            kinds,
            out_offsets,
            out_edges,
            in_offsets,
            in_edges,
            computed: Vec::new(),
        };
        graph.computed = crate::computed::compute(&graph);
        graph
    }

    pub(crate) fn asset_at(&self, position: u32) -> &'a Asset {
        &self.assets[position as usize]
    }

    /// The computed properties of an asset of this inventory (`null` when it has none).
    pub fn computed(&self, asset: &Asset) -> Option<&serde_json::Value> {
        self.position(asset).map(|p| &self.computed[p as usize])
    }

    pub fn asset_count(&self) -> usize {
        self.assets.len()
    }

    pub fn edge_count(&self) -> usize {
        self.out_edges.len()
    }

    pub(crate) fn position(&self, asset: &Asset) -> Option<u32> {
        self.index.get(asset.id.as_str()).copied()
    }

    /// Assets reached from `start` by following `steps`, without duplicates, in discovery order.
    pub(crate) fn follow(&self, start: u32, steps: &[Step]) -> Vec<&'a Asset> {
        let mut frontier = vec![start];
        for step in steps {
            let kind = match &step.kind {
                Some(k) => match self.kinds.get(k.as_str()) {
                    Some(&id) => Some(id),
                    None => return Vec::new(),
                },
                None => None,
            };
            let (offsets, edges) = if step.incoming {
                (&self.in_offsets, &self.in_edges)
            } else {
                (&self.out_offsets, &self.out_edges)
            };
            let mut next = Vec::new();
            for &node in &frontier {
                let lo = offsets[node as usize] as usize;
                let hi = offsets[node as usize + 1] as usize;
                for &(k, target) in &edges[lo..hi] {
                    if kind.is_none_or(|want| want == k) && !next.contains(&target) {
                        next.push(target);
                    }
                }
            }
            frontier = next;
            if frontier.is_empty() {
                break;
            }
        }
        frontier
            .into_iter()
            .map(|i| &self.assets[i as usize])
            .collect()
    }
}

/// Compressed sparse rows from `(node, kind, neighbour)` triples.
fn csr(
    nodes: usize,
    triples: impl Iterator<Item = (u32, u32, u32)> + Clone,
) -> (Vec<u32>, Vec<(u32, u32)>) {
    let mut counts = vec![0u32; nodes + 1];
    for (n, _, _) in triples.clone() {
        counts[n as usize + 1] += 1;
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    let offsets = counts.clone();
    let mut fill = counts;
    let total = offsets[nodes] as usize;
    let mut edges = vec![(0u32, 0u32); total];
    for (n, k, t) in triples {
        let slot = &mut fill[n as usize];
        edges[*slot as usize] = (k, t);
        *slot += 1;
    }
    (offsets, edges)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rampart_model::{Provider, Relationship, ResourceType};

    fn asset(id: &str) -> Asset {
        Asset {
            id: id.into(),
            provider: Provider::Aws,
            account: "1".into(),
            region: "r".into(),
            resource_type: ResourceType::parse("aws.ec2.instance").unwrap(),
            native_id: id.into(),
            name: id.into(),
            tags: Default::default(),
            config: serde_json::Value::Null,
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
    fn follows_paths_both_ways_without_duplicates() {
        let inv = Inventory {
            assets: ["i1", "i2", "sg", "vpc"].iter().map(|i| asset(i)).collect(),
            relationships: vec![
                rel("i1", "sg", "uses"),
                rel("i2", "sg", "uses"),
                rel("sg", "vpc", "in"),
                rel("i1", "ghost", "uses"),
            ],
        };
        let g = Graph::build(&inv);
        assert_eq!(g.edge_count(), 3, "edges to unknown assets are dropped");
        let names = |v: Vec<&Asset>| v.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        let i1 = g.index["i1"];
        assert_eq!(names(g.follow(i1, &parse_path("uses").unwrap())), ["sg"]);
        assert_eq!(
            names(g.follow(i1, &parse_path("uses.in").unwrap())),
            ["vpc"]
        );
        let sg = g.index["sg"];
        assert_eq!(
            names(g.follow(sg, &parse_path("~uses").unwrap())),
            ["i1", "i2"]
        );
        assert_eq!(
            names(g.follow(i1, &parse_path("uses.~uses").unwrap())),
            ["i1", "i2"]
        );
        assert_eq!(names(g.follow(i1, &parse_path("*").unwrap())), ["sg"]);
        assert!(g.follow(i1, &parse_path("attached_to").unwrap()).is_empty());
        assert!(parse_path("Uses").is_err());
        assert!(parse_path("").is_err());
    }
}

/// One hop of an attack path.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hop {
    pub from: String,
    pub to: String,
    /// Edge kind as stored (`uses`, `attached_to`, …); `internet` for the first hop.
    pub kind: String,
    /// Whether the hop follows the stored edge (`forward`) or walks it backwards (`backward`).
    pub direction: &'static str,
    pub reason: String,
}

/// A path from the internet to an asset.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AttackPath {
    /// Asset ids from the internet-exposed entry point to the target.
    pub nodes: Vec<String>,
    pub hops: Vec<Hop>,
}

/// An asset within `depth` hops of another, in either direction.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Neighbour {
    pub asset_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub distance: usize,
    /// The edge that first reached it: kind and direction from the previous asset.
    pub via_kind: String,
    pub via_direction: &'static str,
    pub via: String,
}

impl<'a> Graph<'a> {
    /// Finds an asset by Rampart id, native id or (unique) name.
    pub fn find(&self, key: &str) -> Option<&'a Asset> {
        if let Some(&p) = self.index.get(key) {
            return Some(&self.assets[p as usize]);
        }
        if let Some(a) = self.assets.iter().find(|a| a.native_id == key) {
            return Some(a);
        }
        let mut named = self.assets.iter().filter(|a| a.name == key);
        match (named.next(), named.next()) {
            (Some(a), None) => Some(a),
            _ => None,
        }
    }

    fn kind_name(&self, kind: u32) -> &'a str {
        self.kinds
            .iter()
            .find(|(_, id)| **id == kind)
            .map(|(name, _)| *name)
            .unwrap_or("related")
    }

    /// Neighbours of a node over edges in both directions: `(node, kind, forward)`.
    fn both_ways(&self, node: u32) -> impl Iterator<Item = (u32, u32, bool)> + '_ {
        let n = node as usize;
        let out = self.out_edges[self.out_offsets[n] as usize..self.out_offsets[n + 1] as usize]
            .iter()
            .map(|&(k, t)| (t, k, true));
        let inc = self.in_edges[self.in_offsets[n] as usize..self.in_offsets[n + 1] as usize]
            .iter()
            .map(|&(k, t)| (t, k, false));
        out.chain(inc)
    }

    /// Whether the asset at `pos` is reachable from the internet (computed property).
    fn entry_point(&self, pos: u32) -> bool {
        self.computed[pos as usize]
            .get("internet_exposed")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
            || self.computed[pos as usize]
                .get("public")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
    }

    fn entry_reason(&self, pos: u32) -> String {
        let c = &self.computed[pos as usize];
        if let Some(ports) = c.get("exposed_ports").and_then(|p| p.as_array())
            && !ports.is_empty()
        {
            let list: Vec<String> = ports
                .iter()
                .filter_map(|r| {
                    let a = r.get(0)?.as_i64()?;
                    let b = r.get(1)?.as_i64()?;
                    Some(if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    })
                })
                .collect();
            return format!("reachable from the internet on ports {}", list.join(", "));
        }
        if c.get("public").and_then(serde_json::Value::as_bool) == Some(true) {
            return "publicly readable data store".into();
        }
        "reachable from the internet".into()
    }

    /// Shortest paths from internet entry points to `target` (at most `limit`, shortest first,
    /// one per entry point), walking relationships in either direction.
    pub fn attack_paths(&self, target: &Asset, limit: usize) -> Vec<AttackPath> {
        let Some(goal) = self.position(target) else {
            return Vec::new();
        };
        // Breadth-first from the target; then read a path off for each entry point reached.
        let n = self.assets.len();
        let mut prev: Vec<Option<(u32, u32, bool)>> = vec![None; n];
        let mut seen = vec![false; n];
        let mut order = vec![goal];
        seen[goal as usize] = true;
        let mut head = 0;
        while head < order.len() {
            let node = order[head];
            head += 1;
            for (next, kind, forward) in self.both_ways(node) {
                if !seen[next as usize] {
                    seen[next as usize] = true;
                    // Seen from `next`, the hop to `node` goes the other way.
                    prev[next as usize] = Some((node, kind, !forward));
                    order.push(next);
                }
            }
        }
        let mut paths = Vec::new();
        for &entry in &order {
            if paths.len() >= limit {
                break;
            }
            if !self.entry_point(entry) {
                continue;
            }
            let first = &self.assets[entry as usize];
            let mut nodes = vec![first.id.clone()];
            let mut hops = vec![Hop {
                from: "internet".into(),
                to: first.id.clone(),
                kind: "internet".into(),
                direction: "forward",
                reason: self.entry_reason(entry),
            }];
            let mut cur = entry;
            while let Some((next, kind, forward)) = prev[cur as usize] {
                let a = &self.assets[cur as usize];
                let b = &self.assets[next as usize];
                let k = self.kind_name(kind);
                let reason = if forward {
                    format!(
                        "{} {} {} ({})",
                        a.name,
                        k.replace('_', " "),
                        b.name,
                        b.resource_type
                    )
                } else {
                    format!(
                        "{} ({}) {} {}",
                        b.name,
                        b.resource_type,
                        k.replace('_', " "),
                        a.name
                    )
                };
                hops.push(Hop {
                    from: a.id.clone(),
                    to: b.id.clone(),
                    kind: k.to_string(),
                    direction: if forward { "forward" } else { "backward" },
                    reason,
                });
                nodes.push(b.id.clone());
                cur = next;
            }
            paths.push(AttackPath { nodes, hops });
        }
        paths
    }

    /// Assets within `depth` hops of `start` (either direction), nearest first.
    pub fn neighbours(&self, start: &Asset, depth: usize) -> Vec<Neighbour> {
        let Some(s) = self.position(start) else {
            return Vec::new();
        };
        let mut seen = vec![false; self.assets.len()];
        seen[s as usize] = true;
        let mut frontier = vec![s];
        let mut out = Vec::new();
        for distance in 1..=depth {
            let mut next = Vec::new();
            for &node in &frontier {
                for (t, kind, forward) in self.both_ways(node) {
                    if seen[t as usize] {
                        continue;
                    }
                    seen[t as usize] = true;
                    next.push(t);
                    let a = &self.assets[t as usize];
                    out.push(Neighbour {
                        asset_id: a.id.clone(),
                        name: a.name.clone(),
                        resource_type: a.resource_type.as_str().to_string(),
                        distance,
                        via_kind: self.kind_name(kind).to_string(),
                        via_direction: if forward { "forward" } else { "backward" },
                        via: self.assets[node as usize].id.clone(),
                    });
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        out
    }
}
