//! The relationship graph of one inventory, for cross-resource controls.
//!
//! Assets get dense `u32` ids (their position in the inventory); edges are stored twice in
//! compressed sparse rows — outgoing and incoming — as `(kind, neighbour)` pairs of `u32`, so the
//! graph costs 16 bytes per edge plus 8 per asset, with no per-edge heap object.

use rampart_model::{Asset, Inventory};

use crate::state::GraphState;

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

enum StateRef<'a> {
    Owned(Box<GraphState>),
    Borrowed(&'a GraphState),
}

/// An inventory bound to its security graph: what controls (`related()`, `computed`), attack
/// paths and neighbourhoods read. The graph itself is a [`GraphState`], built for the
/// inventory ([`Graph::build`]) or kept up to date across scans and borrowed
/// ([`Graph::over`]).
pub struct Graph<'a> {
    state: StateRef<'a>,
    assets: &'a [Asset],
    /// Inventory position of each slot (`u32::MAX` for none).
    pos_of_slot: Vec<u32>,
}

impl std::fmt::Debug for Graph<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("assets", &self.assets.len())
            .field("edges", &self.state().edge_count())
            .finish()
    }
}

impl<'a> Graph<'a> {
    /// Builds the graph of an inventory; relationships naming unknown assets are ignored.
    pub fn build(inventory: &'a Inventory) -> Graph<'a> {
        let state = GraphState::build(inventory);
        Graph::bind(StateRef::Owned(Box::new(state)), &inventory.assets)
    }

    /// Binds an inventory to a state kept up to date with it (see [`GraphState::sync`]).
    pub fn over(state: &'a GraphState, inventory: &'a Inventory) -> Graph<'a> {
        Graph::bind(StateRef::Borrowed(state), &inventory.assets)
    }

    fn bind(state: StateRef<'a>, assets: &'a [Asset]) -> Graph<'a> {
        let s: &GraphState = match &state {
            StateRef::Owned(b) => b,
            StateRef::Borrowed(r) => r,
        };
        let mut pos_of_slot = vec![u32::MAX; s.slots()];
        for (i, a) in assets.iter().enumerate() {
            if let Some(slot) = s.slot(&a.id) {
                pos_of_slot[slot as usize] = i as u32;
            }
        }
        Graph {
            state,
            assets,
            pos_of_slot,
        }
    }

    /// The graph state behind this view.
    pub fn state(&self) -> &GraphState {
        match &self.state {
            StateRef::Owned(b) => b,
            StateRef::Borrowed(r) => r,
        }
    }

    fn asset_of(&self, slot: u32) -> Option<&'a Asset> {
        let p = *self.pos_of_slot.get(slot as usize)?;
        self.assets.get(p as usize)
    }

    /// The computed properties of an asset of this inventory (`null` when it has none).
    pub fn computed(&self, asset: &Asset) -> Option<serde_json::Value> {
        self.state()
            .slot(&asset.id)
            .map(|slot| self.state().props_json(slot))
    }

    pub fn asset_count(&self) -> usize {
        self.assets.len()
    }

    pub fn edge_count(&self) -> usize {
        self.state().edge_count()
    }

    /// The asset's slot in the graph.
    pub(crate) fn position(&self, asset: &Asset) -> Option<u32> {
        self.state().slot(&asset.id)
    }

    /// Assets reached from the asset at slot `start` by following `steps`, without duplicates,
    /// in discovery order.
    pub(crate) fn follow(&self, start: u32, steps: &[Step]) -> Vec<&'a Asset> {
        self.state()
            .follow(start, steps)
            .into_iter()
            .filter_map(|s| self.asset_of(s))
            .collect()
    }
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
        let i1 = g.position(&inv.assets[0]).unwrap();
        assert_eq!(names(g.follow(i1, &parse_path("uses").unwrap())), ["sg"]);
        assert_eq!(
            names(g.follow(i1, &parse_path("uses.in").unwrap())),
            ["vpc"]
        );
        let sg = g.position(&inv.assets[2]).unwrap();
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
        if let Some(a) = self.state().slot(key).and_then(|s| self.asset_of(s)) {
            return Some(a);
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

    /// Shortest paths from internet entry points to `target` (at most `limit`, shortest first,
    /// one per entry point), walking relationships in either direction.
    pub fn attack_paths(&self, target: &Asset, limit: usize) -> Vec<AttackPath> {
        let Some(goal) = self.position(target) else {
            return Vec::new();
        };
        let state = self.state();
        // Breadth-first from the target; then read a path off for each entry point reached.
        let n = state.slots();
        let mut prev: Vec<Option<(u32, u32, bool)>> = vec![None; n];
        let mut seen = vec![false; n];
        let mut order = vec![goal];
        seen[goal as usize] = true;
        let mut head = 0;
        while head < order.len() {
            let node = order[head];
            head += 1;
            for (next, kind, forward) in state.both_ways(node) {
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
            if !state.entry_point(entry) {
                continue;
            }
            let Some(first) = self.asset_of(entry) else {
                continue;
            };
            let mut nodes = vec![first.id.clone()];
            let mut hops = vec![Hop {
                from: "internet".into(),
                to: first.id.clone(),
                kind: "internet".into(),
                direction: "forward",
                reason: state.entry_reason(entry),
            }];
            let mut cur = entry;
            let mut complete = true;
            while let Some((next, kind, forward)) = prev[cur as usize] {
                let (Some(a), Some(b)) = (self.asset_of(cur), self.asset_of(next)) else {
                    complete = false;
                    break;
                };
                let k = state.kind_name(kind);
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
            if complete {
                paths.push(AttackPath { nodes, hops });
            }
        }
        paths
    }

    /// Assets within `depth` hops of `start` (either direction), nearest first.
    pub fn neighbours(&self, start: &Asset, depth: usize) -> Vec<Neighbour> {
        let Some(s) = self.position(start) else {
            return Vec::new();
        };
        let state = self.state();
        let mut seen = vec![false; state.slots()];
        seen[s as usize] = true;
        let mut frontier = vec![s];
        let mut out = Vec::new();
        for distance in 1..=depth {
            let mut next = Vec::new();
            for &node in &frontier {
                for (t, kind, forward) in state.both_ways(node) {
                    if seen[t as usize] {
                        continue;
                    }
                    seen[t as usize] = true;
                    next.push(t);
                    let (Some(a), Some(via)) = (self.asset_of(t), self.asset_of(node)) else {
                        continue;
                    };
                    out.push(Neighbour {
                        asset_id: a.id.clone(),
                        name: a.name.clone(),
                        resource_type: a.resource_type.as_str().to_string(),
                        distance,
                        via_kind: state.kind_name(kind).to_string(),
                        via_direction: if forward { "forward" } else { "backward" },
                        via: via.id.clone(),
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
