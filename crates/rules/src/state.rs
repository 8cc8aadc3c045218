//! The security graph as owned, incrementally maintained state.
//!
//! A [`GraphState`] holds, per asset, a dense slot (`u32`), its resource type, a fingerprint of
//! its content, the *facts* property computation needs from its configuration (a few booleans
//! and port ranges, parsed policy grants — never the configuration itself), and its materialised
//! computed properties. Relationships are an edge list of `(from, kind, to)` slots with
//! compressed-sparse-row adjacency in both directions (16 bytes per edge, no per-edge heap
//! object).
//!
//! After a scan only what changed is redone: [`GraphState::upsert`] re-extracts the facts of
//! an asset whose content changed, [`GraphState::set_relationships`] replaces an asset's
//! outgoing edges, [`GraphState::remove`] drops an asset, and [`GraphState::commit`] rebuilds
//! the adjacency (linear in edges, no hashing) and recomputes the properties of the changed
//! assets and of the assets whose properties read them — found by walking each property's
//! dependency paths backwards from the changed assets. [`GraphState::sync`] finds those
//! changes itself by comparing a whole new inventory with the state.
//!
//! Aggregates across the inventory (which principals read which buckets, which buckets are
//! sensitive) are kept as counted indexes and read when a property is rendered, so a change to
//! one principal never forces a pass over every bucket.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};

use rampart_model::{Asset, Inventory, Relationship};
use serde_json::{Value as Json, json};

use crate::access::{Buckets, Rules};
use crate::graph::Step;

/// An `(action, resource)` pair a policy allows (actions lower-cased).
pub(crate) type Grant = (Box<str>, Box<str>);

/// Inclusive port ranges.
pub(crate) type PortRanges = Box<[(i64, i64)]>;

/// What property computation needs from one asset's own content.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Facts {
    #[default]
    Other,
    Instance {
        running: bool,
        public_ip: bool,
    },
    RouteTable {
        to_igw: bool,
    },
    Nacl {
        admits: bool,
    },
    SecurityGroup {
        open: PortRanges,
    },
    Database {
        public: bool,
        port: Option<i64>,
    },
    Bucket(Box<BucketFacts>),
    Principal(Box<PrincipalFacts>),
    Policy(Rules),
    /// A service control policy and the accounts it applies to.
    Scp {
        rules: Rules,
        accounts: Box<[Box<str>]>,
    },
    GcpInstance(Box<crate::exposure::GcpInstanceFacts>),
    GcpFirewall(Box<crate::exposure::FirewallFacts>),
    Nsg {
        open: PortRanges,
    },
    /// GCP buckets and Azure storage accounts: publicity decided by their own configuration.
    Public(bool),
}

/// A bucket's own settings: publicity, sensitivity and what its policy grants or denies to
/// named principals (ARNs, lower-cased) for reading objects.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BucketFacts {
    pub name: Box<str>,
    pub public: bool,
    pub sensitive: bool,
    pub grants_to: Box<[Box<str>]>,
    pub denies_all: bool,
    pub denies_to: Box<[Box<str>]>,
}

/// A user's, role's or group's identity: its inline policies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrincipalFacts {
    pub name: Box<str>,
    /// Lower-cased.
    pub arn: Box<str>,
    pub account: Box<str>,
    pub rules: Rules,
}

/// Materialised properties of one asset (those that need its neighbours).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Props {
    #[default]
    None,
    /// Instances and virtual machines: internet exposure and the open ranges (empty unless
    /// exposed).
    Exposure {
        exposed: bool,
        ports: PortRanges,
    },
    Database {
        exposed: bool,
    },
    SecurityGroup {
        open: bool,
        running: u32,
    },
    Principal {
        admin: bool,
        escalation: bool,
        /// Buckets readable through identity policies, within boundary and SCPs.
        reach: Buckets,
        /// Buckets it may not read whatever a bucket policy grants.
        blocked: Buckets,
    },
}

/// What a [`GraphState::commit`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Assets added, changed or removed, or with a changed relationship.
    pub changed: usize,
    /// Assets whose properties were recomputed.
    pub recomputed: usize,
}

/// Dependency paths: a property of an asset of `type` reads the assets reached along each path
/// (and along each of its prefixes).
const DEPENDENCIES: &[(&str, &[&str])] = &[
    (
        "aws.ec2.instance",
        &["contained_in.~associated_with", "uses"],
    ),
    ("aws.ec2.security_group", &["~uses"]),
    ("aws.rds.db_instance", &["uses"]),
    (
        "aws.iam.user",
        &["member_of.attached_to", "attached_to", "bounded_by"],
    ),
    ("aws.iam.role", &["attached_to", "bounded_by"]),
    ("aws.iam.group", &["attached_to"]),
    ("gcp.compute.instance", &["attached_to.~applies_to"]),
    ("azure.compute.vm", &["uses.uses", "uses.attached_to.uses"]),
];

fn is_principal(t: &str) -> bool {
    matches!(t, "aws.iam.user" | "aws.iam.role" | "aws.iam.group")
}

/// Owned, incrementally maintained security graph of one inventory.
#[derive(Clone, Default)]
pub struct GraphState {
    slot_of: HashMap<Box<str>, u32, ahash::RandomState>,
    live: Vec<bool>,
    free: Vec<u32>,
    freed: Vec<u32>,
    rtype: Vec<u16>,
    type_names: Vec<Box<str>>,
    type_ids: HashMap<Box<str>, u16>,
    fingerprint: Vec<u64>,
    pub(crate) facts: Vec<Facts>,
    pub(crate) props: Vec<Props>,
    kinds: HashMap<Box<str>, u32>,
    kind_names: Vec<Box<str>>,
    edges: Vec<(u32, u32, u32)>,
    out_offsets: Vec<u32>,
    out_edges: Vec<(u32, u32)>,
    in_offsets: Vec<u32>,
    in_edges: Vec<(u32, u32)>,
    /// Principals reading every bucket (but those in their exceptions), by name.
    all_readers: BTreeSet<(Box<str>, u32)>,
    /// Bucket name → principals reading every bucket but that one.
    all_except: HashMap<Box<str>, HashSet<u32>>,
    /// Bucket name → principals whose identity policies name it, by name.
    by_bucket: HashMap<Box<str>, BTreeSet<(Box<str>, u32)>>,
    /// The name each principal is indexed under in the reader indexes.
    reader_name: HashMap<u32, Box<str>>,
    /// Names of sensitive buckets → how many such buckets.
    sensitive: HashMap<Box<str>, u32>,
    /// Principal ARN → slot.
    principal_by_arn: HashMap<Box<str>, u32>,
    /// Account → its principals, and the SCPs applying to it.
    principals_by_account: HashMap<Box<str>, HashSet<u32>>,
    scps_by_account: HashMap<Box<str>, HashSet<u32>>,
    /// Accounts whose SCPs changed since the last commit.
    pending_accounts: HashSet<Box<str>>,
    /// Principal ARN → buckets whose policy grants it reading.
    granted: HashMap<Box<str>, HashSet<u32>>,
    /// Buckets whose policy denies reading unconditionally to someone.
    denying_buckets: HashSet<u32>,
    // Pending changes, applied by `commit`.
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
    replaced: HashSet<u32>,
    staged: Vec<(u32, u32, Box<str>)>,
    edges_changed: bool,
    /// Relationships whose target is not (or no longer) in the state, retried on later commits.
    dangling: Vec<(u32, u32, Box<str>)>,
    /// Ids of the slots removed since the last commit.
    removed_ids: HashMap<u32, Box<str>>,
    /// Per slot, a commutative hash of the relationships given for it as source (for `sync`).
    rel_fingerprint: Vec<u64>,
    /// Keys of the fingerprints, random per state: content cannot be crafted to collide.
    keys: ahash::RandomState,
}

impl std::fmt::Debug for GraphState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphState")
            .field("assets", &self.slot_of.len())
            .field("edges", &self.edges.len())
            .finish()
    }
}

fn relationship_hash(keys: &ahash::RandomState, kind: &str, to: &str) -> u64 {
    keys.hash_one((kind, to))
}

/// Hashes an asset's own content: type, name, tags and configuration.
fn content_fingerprint(keys: &ahash::RandomState, asset: &Asset) -> u64 {
    let mut h = keys.build_hasher();
    asset.resource_type.as_str().hash(&mut h);
    asset.provider.as_str().hash(&mut h);
    asset.account.hash(&mut h);
    asset.region.hash(&mut h);
    asset.native_id.hash(&mut h);
    asset.name.hash(&mut h);
    for (k, v) in &asset.tags {
        k.hash(&mut h);
        v.hash(&mut h);
    }
    hash_json(&asset.config, &mut h);
    h.finish()
}

fn hash_json(v: &Json, h: &mut impl Hasher) {
    match v {
        Json::Null => 0u8.hash(h),
        Json::Bool(b) => (1u8, *b).hash(h),
        Json::Number(n) => {
            2u8.hash(h);
            match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => (0u8, i).hash(h),
                (None, Some(u), _) => (1u8, u).hash(h),
                (_, _, f) => (2u8, f.map(f64::to_bits)).hash(h),
            }
        }
        Json::String(s) => (3u8, s).hash(h),
        Json::Array(a) => {
            (4u8, a.len()).hash(h);
            for x in a {
                hash_json(x, h);
            }
        }
        Json::Object(m) => {
            (5u8, m.len()).hash(h);
            for (k, x) in m {
                k.hash(h);
                hash_json(x, h);
            }
        }
    }
}

impl GraphState {
    /// An empty state.
    pub fn new() -> GraphState {
        GraphState::default()
    }

    /// Builds the state of a whole inventory (relationships naming unknown assets are ignored).
    pub fn build(inventory: &Inventory) -> GraphState {
        GraphState::build_counted(inventory).0
    }

    /// [`GraphState::build`], with what its commit computed.
    pub fn build_counted(inventory: &Inventory) -> (GraphState, CommitStats) {
        let mut s = GraphState::new();
        s.reserve(inventory.assets.len(), inventory.relationships.len());
        for a in &inventory.assets {
            s.upsert(a);
        }
        for r in &inventory.relationships {
            s.relate(&r.from, &r.kind, &r.to);
        }
        let stats = s.commit();
        (s, stats)
    }

    /// Brings the state up to date with a whole new inventory: only assets whose content or
    /// relationships differ are re-read, and only the properties that could change are
    /// recomputed.
    pub fn sync(&mut self, inventory: &Inventory) -> CommitStats {
        let mut rel_hash: HashMap<&str, u64, ahash::RandomState> =
            HashMap::with_capacity_and_hasher(inventory.assets.len(), ahash::RandomState::new());
        for r in &inventory.relationships {
            let h = rel_hash.entry(r.from.as_str()).or_default();
            *h = h.wrapping_add(relationship_hash(&self.keys, &r.kind, &r.to));
        }
        let known = self.live.len();
        let mut seen = vec![false; known];
        let mut rel_changed: HashSet<&str, ahash::RandomState> = HashSet::default();
        for a in &inventory.assets {
            self.upsert(a);
            let Some(slot) = self.slot(&a.id) else {
                continue;
            };
            if let Some(s) = seen.get_mut(slot as usize) {
                *s = true;
            }
            let want = rel_hash.get(a.id.as_str()).copied().unwrap_or(0);
            if self.rel_fingerprint[slot as usize] != want {
                rel_changed.insert(a.id.as_str());
            }
        }
        let gone: Vec<Box<str>> = self
            .slot_of
            .iter()
            .filter(|(_, s)| (**s as usize) < known && !seen[**s as usize])
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            self.remove(id);
        }
        if !rel_changed.is_empty() {
            let mut by_from: HashMap<&str, Vec<&Relationship>> = HashMap::new();
            for r in &inventory.relationships {
                if rel_changed.contains(r.from.as_str()) {
                    by_from.entry(r.from.as_str()).or_default().push(r);
                }
            }
            for from in rel_changed {
                let rels = by_from.remove(from).unwrap_or_default();
                self.set_relationships(from, rels);
            }
        }
        self.commit()
    }

    /// Reserves room for `assets` assets and `edges` relationships.
    pub fn reserve(&mut self, assets: usize, edges: usize) {
        self.slot_of.reserve(assets);
        self.edges.reserve(edges);
    }

    pub fn asset_count(&self) -> usize {
        self.slot_of.len()
    }

    pub fn edge_count(&self) -> usize {
        self.out_edges.len()
    }

    pub(crate) fn slot(&self, id: &str) -> Option<u32> {
        self.slot_of.get(id).copied()
    }

    pub(crate) fn slots(&self) -> usize {
        self.live.len()
    }

    pub(crate) fn type_of(&self, slot: u32) -> &str {
        &self.type_names[self.rtype[slot as usize] as usize]
    }

    pub(crate) fn kind_name(&self, kind: u32) -> &str {
        self.kind_names
            .get(kind as usize)
            .map_or("related", |k| &**k)
    }

    fn mark(&mut self, slot: u32) {
        if let Some(d) = self.is_dirty.get_mut(slot as usize)
            && !*d
        {
            *d = true;
            self.dirty.push(slot);
        }
    }

    fn type_id(&mut self, t: &str) -> u16 {
        if let Some(&id) = self.type_ids.get(t) {
            return id;
        }
        let id = self.type_names.len() as u16;
        self.type_names.push(t.into());
        self.type_ids.insert(t.into(), id);
        id
    }

    fn intern_kind(&mut self, kind: &str) -> u32 {
        if let Some(&k) = self.kinds.get(kind) {
            return k;
        }
        let k = self.kind_names.len() as u32;
        self.kind_names.push(kind.into());
        self.kinds.insert(kind.into(), k);
        k
    }

    /// Adds an asset or replaces its content; returns `false` when nothing changed.
    pub fn upsert(&mut self, asset: &Asset) -> bool {
        let fp = content_fingerprint(&self.keys, asset);
        let slot = match self.slot_of.get(asset.id.as_str()) {
            Some(&s) => {
                if self.fingerprint[s as usize] == fp {
                    return false;
                }
                s
            }
            None => {
                let s = match self.free.pop() {
                    Some(s) => s,
                    None => {
                        let s = self.live.len() as u32;
                        self.live.push(false);
                        self.rtype.push(0);
                        self.fingerprint.push(0);
                        self.facts.push(Facts::Other);
                        self.props.push(Props::None);
                        self.is_dirty.push(false);
                        self.rel_fingerprint.push(0);
                        s
                    }
                };
                self.slot_of.insert(asset.id.as_str().into(), s);
                self.live[s as usize] = true;
                // A new asset's edges change the adjacency even when it has none itself:
                // relationships staged earlier may name it.
                self.edges_changed = true;
                s
            }
        };
        let t = self.type_id(asset.resource_type.as_str());
        self.rtype[slot as usize] = t;
        self.fingerprint[slot as usize] = fp;
        let facts = extract(asset);
        self.set_facts(slot, facts);
        self.mark(slot);
        true
    }

    fn set_facts(&mut self, slot: u32, facts: Facts) {
        let old = std::mem::take(&mut self.facts[slot as usize]);
        self.index_facts(slot, &old, false);
        self.index_facts(slot, &facts, true);
        self.facts[slot as usize] = facts;
    }

    /// Adds (or removes) a slot's facts to (from) the indexes read across the inventory.
    fn index_facts(&mut self, slot: u32, facts: &Facts, add: bool) {
        fn update<K: Eq + std::hash::Hash>(
            map: &mut HashMap<K, HashSet<u32>>,
            key: K,
            slot: u32,
            add: bool,
        ) {
            if add {
                map.entry(key).or_default().insert(slot);
            } else if let Some(set) = map.get_mut(&key) {
                set.remove(&slot);
                if set.is_empty() {
                    map.remove(&key);
                }
            }
        }
        match facts {
            Facts::Bucket(b) => {
                if b.sensitive {
                    let n = self.sensitive.entry(b.name.clone()).or_default();
                    if add {
                        *n += 1;
                    } else {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            self.sensitive.remove(&b.name);
                        }
                    }
                }
                for arn in &b.grants_to {
                    update(&mut self.granted, arn.clone(), slot, add);
                }
                if b.denies_all || !b.denies_to.is_empty() {
                    if add {
                        self.denying_buckets.insert(slot);
                    } else {
                        self.denying_buckets.remove(&slot);
                    }
                }
            }
            Facts::Principal(p) => {
                if add {
                    self.principal_by_arn.insert(p.arn.clone(), slot);
                } else if self.principal_by_arn.get(&p.arn) == Some(&slot) {
                    self.principal_by_arn.remove(&p.arn);
                }
                update(
                    &mut self.principals_by_account,
                    p.account.clone(),
                    slot,
                    add,
                );
            }
            Facts::Scp { accounts, .. } => {
                for a in accounts.iter() {
                    update(&mut self.scps_by_account, a.clone(), slot, add);
                    self.pending_accounts.insert(a.clone());
                }
            }
            _ => {}
        }
    }

    /// The SCPs applying to an account.
    pub(crate) fn scps_of(&self, account: &str) -> Vec<&Rules> {
        self.scps_by_account
            .get(account)
            .into_iter()
            .flatten()
            .filter_map(|&s| match &self.facts[s as usize] {
                Facts::Scp { rules, .. } => Some(rules),
                _ => None,
            })
            .collect()
    }

    /// Removes an asset (and its relationships, both ways); returns `false` when unknown.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.slot_of.remove(id) else {
            return false;
        };
        let s = slot as usize;
        self.live[s] = false;
        self.set_facts(slot, Facts::Other);
        self.set_props(slot, Props::None);
        for (n, _, _) in self.both_ways(slot).collect::<Vec<_>>() {
            self.mark(n);
        }
        self.rel_fingerprint[s] = 0;
        self.freed.push(slot);
        self.removed_ids.insert(slot, id.into());
        self.edges_changed = true;
        true
    }

    /// Adds a relationship between two assets (by Rampart id).
    pub fn relate(&mut self, from: &str, kind: &str, to: &str) {
        let Some(&f) = self.slot_of.get(from) else {
            return;
        };
        let k = self.intern_kind(kind);
        self.rel_fingerprint[f as usize] =
            self.rel_fingerprint[f as usize].wrapping_add(relationship_hash(&self.keys, kind, to));
        match self.slot_of.get(to) {
            Some(&t) => {
                self.edges.push((f, k, t));
                self.mark(f);
                self.mark(t);
            }
            _ => self.staged.push((f, k, to.into())),
        }
        self.edges_changed = true;
    }

    /// Replaces every outgoing relationship of `from` with `relationships` (their `from` is
    /// ignored).
    pub fn set_relationships<'r>(
        &mut self,
        from: &str,
        relationships: impl IntoIterator<Item = &'r Relationship>,
    ) {
        let Some(&f) = self.slot_of.get(from) else {
            return;
        };
        self.replaced.insert(f);
        self.mark(f);
        for (n, _) in self.out(f).to_vec() {
            self.mark(n);
        }
        let mut fp = 0u64;
        for r in relationships {
            let k = self.intern_kind(&r.kind);
            fp = fp.wrapping_add(relationship_hash(&self.keys, &r.kind, &r.to));
            self.staged.push((f, k, r.to.as_str().into()));
        }
        self.rel_fingerprint[f as usize] = fp;
        self.edges_changed = true;
    }

    /// Outgoing `(neighbour, kind)` pairs of a slot (adjacency of the last commit).
    fn out(&self, slot: u32) -> Vec<(u32, u32)> {
        let s = slot as usize;
        if s + 1 >= self.out_offsets.len() {
            return Vec::new();
        }
        self.out_edges[self.out_offsets[s] as usize..self.out_offsets[s + 1] as usize]
            .iter()
            .map(|&(k, t)| (t, k))
            .collect()
    }

    /// Applies pending changes: adjacency, then the properties that could have changed.
    pub fn commit(&mut self) -> CommitStats {
        if self.edges_changed {
            let mut staged = std::mem::take(&mut self.staged);
            let replaced = std::mem::take(&mut self.replaced);
            let removed = std::mem::take(&mut self.removed_ids);
            let live = &self.live;
            if !replaced.is_empty() || !removed.is_empty() {
                let mut orphaned = Vec::new();
                self.edges.retain(|&(f, k, t)| {
                    if !live[f as usize] || replaced.contains(&f) {
                        return false;
                    }
                    if !live[t as usize] {
                        // The source still names the target: keep it for when it returns.
                        if let Some(id) = removed.get(&t) {
                            orphaned.push((f, k, id.clone()));
                        }
                        return false;
                    }
                    true
                });
                self.dangling.extend(orphaned);
            }
            // Earlier unresolved relationships are retried, unless their source was replaced.
            staged.extend(
                std::mem::take(&mut self.dangling)
                    .into_iter()
                    .filter(|(f, _, _)| self.live[*f as usize] && !replaced.contains(f)),
            );
            for (f, k, to) in staged {
                if !self.live[f as usize] {
                    continue;
                }
                match self.slot_of.get(&*to) {
                    Some(&t) => {
                        self.edges.push((f, k, t));
                        self.mark(f);
                        self.mark(t);
                    }
                    None => self.dangling.push((f, k, to)),
                }
            }
            self.rebuild_adjacency();
            self.edges_changed = false;
        }
        self.free.append(&mut self.freed);
        let dirty = std::mem::take(&mut self.dirty);
        for &d in &dirty {
            self.is_dirty[d as usize] = false;
        }
        let changed = dirty.len();
        let mut affected: Vec<u32> = if changed == self.live.len() {
            (0..self.live.len() as u32).collect()
        } else {
            self.dependents(&dirty)
        };
        // A changed SCP reaches every principal of the accounts it applies (or applied) to.
        let accounts = std::mem::take(&mut self.pending_accounts);
        if changed != self.live.len() && !accounts.is_empty() {
            let mut seen: HashSet<u32> = affected.iter().copied().collect();
            for a in &accounts {
                for &p in self.principals_by_account.get(a).into_iter().flatten() {
                    if seen.insert(p) {
                        affected.push(p);
                    }
                }
            }
        }
        // Principals first: instances read their roles' properties when rendered, and the
        // reader indexes change with a principal's reach.
        let (principals, others): (Vec<u32>, Vec<u32>) = affected
            .iter()
            .copied()
            .filter(|&s| self.live[s as usize])
            .partition(|&s| is_principal(self.type_of(s)));
        for &p in &principals {
            let props = crate::computed::principal(self, p);
            self.set_props(p, props);
        }
        for &s in &others {
            let props = self.compute(s);
            self.set_props(s, props);
        }
        CommitStats {
            changed,
            recomputed: principals.len() + others.len(),
        }
    }

    fn compute(&self, slot: u32) -> Props {
        match self.type_of(slot) {
            "aws.ec2.instance" => crate::computed::instance(self, slot),
            "aws.ec2.security_group" => crate::computed::security_group(self, slot),
            "aws.rds.db_instance" => crate::computed::database(self, slot),
            "gcp.compute.instance" => crate::exposure::gcp_instance(self, slot),
            "azure.compute.vm" => crate::exposure::azure_vm(self, slot),
            _ => Props::None,
        }
    }

    /// Replaces a slot's properties, keeping the reader indexes in step.
    fn set_props(&mut self, slot: u32, props: Props) {
        if let Props::Principal { reach, .. } = &self.props[slot as usize] {
            let name = self.reader_name.remove(&slot).unwrap_or_default();
            let key = (name, slot);
            if reach.all {
                self.all_readers.remove(&key);
                for b in &reach.set {
                    if let Some(set) = self.all_except.get_mut(b) {
                        set.remove(&slot);
                        if set.is_empty() {
                            self.all_except.remove(b);
                        }
                    }
                }
            } else {
                for b in &reach.set {
                    if let Some(set) = self.by_bucket.get_mut(b) {
                        set.remove(&key);
                        if set.is_empty() {
                            self.by_bucket.remove(b);
                        }
                    }
                }
            }
        }
        if let Props::Principal { reach, .. } = &props {
            let name: Box<str> = self.principal_name(slot).unwrap_or_default().into();
            self.reader_name.insert(slot, name.clone());
            let key = (name, slot);
            if reach.all {
                self.all_readers.insert(key);
                for b in &reach.set {
                    self.all_except.entry(b.clone()).or_default().insert(slot);
                }
            } else {
                for b in &reach.set {
                    self.by_bucket
                        .entry(b.clone())
                        .or_default()
                        .insert(key.clone());
                }
            }
        }
        self.props[slot as usize] = props;
    }

    /// Whether a bucket's policy denies reading to a principal.
    fn bucket_denies(b: &BucketFacts, arn: &str) -> bool {
        b.denies_all || b.denies_to.iter().any(|d| &**d == arn)
    }

    /// What a principal can read in the end: identity reach, plus buckets whose policy grants
    /// it (unless blocked), less buckets whose policy denies it.
    pub(crate) fn effective_reach(&self, slot: u32) -> Buckets {
        let (Props::Principal { reach, blocked, .. }, Facts::Principal(p)) =
            (&self.props[slot as usize], &self.facts[slot as usize])
        else {
            return Buckets::default();
        };
        let mut granted = Buckets::default();
        for &b in self.granted.get(&p.arn).into_iter().flatten() {
            if let Facts::Bucket(f) = &self.facts[b as usize] {
                granted.set.insert(f.name.clone());
            }
        }
        let mut denied = Buckets::default();
        for &b in &self.denying_buckets {
            if let Facts::Bucket(f) = &self.facts[b as usize]
                && GraphState::bucket_denies(f, &p.arn)
            {
                denied.set.insert(f.name.clone());
            }
        }
        reach.union(&granted.minus(blocked)).minus(&denied)
    }

    /// The principals that can read a bucket: how many, and the first 20 names.
    fn readers(&self, b: &BucketFacts) -> (usize, Vec<&str>) {
        if b.denies_all {
            return (0, Vec::new());
        }
        let none = HashSet::new();
        let except = self.all_except.get(&b.name).unwrap_or(&none);
        let explicit = self.by_bucket.get(&b.name);
        let reads_all = |p: u32| {
            self.reader_name
                .get(&p)
                .is_some_and(|n| self.all_readers.contains(&(n.clone(), p)))
                && !except.contains(&p)
        };
        let named = |p: u32| {
            self.reader_name
                .get(&p)
                .is_some_and(|n| explicit.is_some_and(|e| e.contains(&(n.clone(), p))))
        };
        let mut extra: BTreeSet<(&str, u32)> = BTreeSet::new();
        for arn in b.grants_to.iter() {
            let Some(&p) = self.principal_by_arn.get(arn) else {
                continue;
            };
            let blocked = matches!(&self.props[p as usize], Props::Principal { blocked, .. } if blocked.contains(&b.name));
            if !blocked && !reads_all(p) && !named(p) {
                extra.insert((self.principal_name(p).unwrap_or_default(), p));
            }
        }
        let denied: HashSet<u32> = b
            .denies_to
            .iter()
            .filter_map(|arn| self.principal_by_arn.get(arn).copied())
            .collect();
        let mut count = explicit.map_or(0, BTreeSet::len)
            + (self.all_readers.len() - except.len())
            + extra.len();
        for &d in &denied {
            if reads_all(d) || named(d) || extra.iter().any(|(_, p)| *p == d) {
                count -= 1;
            }
        }
        let mut names: Vec<&str> = explicit
            .into_iter()
            .flatten()
            .filter(|(_, p)| !denied.contains(p))
            .take(20)
            .map(|(n, _)| &**n)
            .chain(
                self.all_readers
                    .iter()
                    .filter(|(_, p)| !except.contains(p) && !denied.contains(p))
                    .take(20)
                    .map(|(n, _)| &**n),
            )
            .chain(
                extra
                    .iter()
                    .filter(|(_, p)| !denied.contains(p))
                    .map(|(n, _)| *n),
            )
            .collect();
        names.sort_unstable();
        names.dedup();
        names.truncate(20);
        (count, names)
    }

    /// The changed slots and every slot whose properties read one of them.
    fn dependents(&self, changed: &[u32]) -> Vec<u32> {
        let mut seen = vec![false; self.live.len()];
        let mut out = Vec::new();
        let mut add = |s: u32, out: &mut Vec<u32>| {
            if !seen[s as usize] {
                seen[s as usize] = true;
                out.push(s);
            }
        };
        let paths: Vec<(&str, Vec<Step>)> = DEPENDENCIES
            .iter()
            .flat_map(|(t, ps)| {
                ps.iter()
                    .filter_map(move |p| crate::graph::parse_path(p).ok().map(|steps| (*t, steps)))
            })
            .collect();
        for &c in changed {
            add(c, &mut out);
            for (t, steps) in &paths {
                // Walk each prefix of the path backwards from the changed asset.
                for len in 1..=steps.len() {
                    let reversed: Vec<Step> = steps[..len]
                        .iter()
                        .rev()
                        .map(|s| Step {
                            kind: s.kind.clone(),
                            incoming: !s.incoming,
                        })
                        .collect();
                    for d in self.follow(c, &reversed) {
                        if self.type_of(d) == *t {
                            add(d, &mut out);
                        }
                    }
                }
            }
        }
        out
    }

    fn rebuild_adjacency(&mut self) {
        let n = self.live.len();
        let (oo, oe) = csr(n, self.edges.iter().map(|&(f, k, t)| (f, k, t)));
        let (io, ie) = csr(n, self.edges.iter().map(|&(f, k, t)| (t, k, f)));
        self.out_offsets = oo;
        self.out_edges = oe;
        self.in_offsets = io;
        self.in_edges = ie;
    }

    /// Slots reached from `start` along `steps`, without duplicates, in discovery order.
    pub(crate) fn follow(&self, start: u32, steps: &[Step]) -> Vec<u32> {
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
                let n = node as usize;
                if n + 1 >= offsets.len() {
                    continue;
                }
                for &(k, target) in &edges[offsets[n] as usize..offsets[n + 1] as usize] {
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
    }

    /// Slots one edge away from `slot` over one kind, as `[kind]` (outgoing) or `~kind`.
    pub(crate) fn step(&self, slot: u32, kind: &str, incoming: bool) -> Vec<u32> {
        self.follow(
            slot,
            &[Step {
                kind: Some(kind.to_string()),
                incoming,
            }],
        )
    }

    /// Neighbours over edges in both directions: `(slot, kind, forward)`.
    pub(crate) fn both_ways(&self, slot: u32) -> impl Iterator<Item = (u32, u32, bool)> + '_ {
        let n = slot as usize;
        let range = |offsets: &Vec<u32>| {
            if n + 1 < offsets.len() {
                offsets[n] as usize..offsets[n + 1] as usize
            } else {
                0..0
            }
        };
        let out = self.out_edges[range(&self.out_offsets)]
            .iter()
            .map(|&(k, t)| (t, k, true));
        let inc = self.in_edges[range(&self.in_offsets)]
            .iter()
            .map(|&(k, t)| (t, k, false));
        out.chain(inc)
    }

    /// Whether the asset is an internet entry point: exposed, or a public data store.
    pub(crate) fn entry_point(&self, slot: u32) -> bool {
        match (&self.props[slot as usize], &self.facts[slot as usize]) {
            (Props::Exposure { exposed, .. } | Props::Database { exposed }, _) => *exposed,
            (_, Facts::Bucket(b)) => b.public,
            (_, Facts::Public(public)) => *public,
            _ => false,
        }
    }

    /// Why an entry point is one (for attack paths).
    pub(crate) fn entry_reason(&self, slot: u32) -> String {
        match (&self.props[slot as usize], &self.facts[slot as usize]) {
            (Props::Exposure { ports, .. }, _) if !ports.is_empty() => {
                let list: Vec<String> = ports
                    .iter()
                    .map(|&(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .collect();
                format!("reachable from the internet on ports {}", list.join(", "))
            }
            (_, Facts::Public(true)) => "publicly readable data store".into(),
            (_, Facts::Bucket(b)) if b.public => "publicly readable data store".into(),
            _ => "reachable from the internet".into(),
        }
    }

    /// Whether any role the asset uses satisfies `pred`.
    fn roles_used(&self, slot: u32, pred: impl Fn(u32) -> bool) -> bool {
        self.step(slot, "uses", false)
            .into_iter()
            .filter(|&r| self.type_of(r) == "aws.iam.role")
            .any(pred)
    }

    fn reads_sensitive(&self, slot: u32) -> bool {
        let reach = self.effective_reach(slot);
        if reach.all {
            self.sensitive.keys().any(|b| !reach.set.contains(b))
        } else {
            reach.set.iter().any(|b| self.sensitive.contains_key(b))
        }
    }

    fn principal_name(&self, slot: u32) -> Option<&str> {
        match &self.facts[slot as usize] {
            Facts::Principal(p) => Some(&p.name),
            _ => None,
        }
    }

    /// The computed properties of a slot as JSON (`null` when its type has none).
    pub(crate) fn props_json(&self, slot: u32) -> Json {
        let s = slot as usize;
        let ranges = |r: &PortRanges| Json::Array(r.iter().map(|(a, b)| json!([a, b])).collect());
        match (self.type_of(slot), &self.props[s], &self.facts[s]) {
            ("aws.ec2.instance", Props::Exposure { exposed, ports }, _) => json!({
                "internet_exposed": exposed,
                "exposed_ports": ranges(ports),
                "admin_role": self.roles_used(slot, |r| matches!(self.props[r as usize], Props::Principal { admin: true, .. })),
                "reads_sensitive_data": self.roles_used(slot, |r| self.reads_sensitive(r)),
            }),
            (_, Props::Exposure { exposed, ports }, _) => json!({
                "internet_exposed": exposed,
                "exposed_ports": ranges(ports),
            }),
            (_, Props::Database { exposed }, _) => json!({ "internet_exposed": exposed }),
            (_, Props::SecurityGroup { open, running }, _) => json!({
                "open_to_internet": open,
                "attached_running_instances": running,
            }),
            (
                _,
                Props::Principal {
                    admin, escalation, ..
                },
                _,
            ) => {
                let reach = self.effective_reach(slot);
                let list = |on: bool| -> Vec<&str> {
                    if on {
                        reach.set.iter().take(50).map(|b| &**b).collect()
                    } else {
                        Vec::new()
                    }
                };
                json!({
                    "admin": admin,
                    "privilege_escalation": escalation,
                    "reads_all_buckets": reach.all && reach.set.is_empty(),
                    "readable_buckets": list(!reach.all),
                    "reads_all_buckets_except": list(reach.all),
                })
            }
            ("aws.s3.bucket", _, Facts::Bucket(b)) => {
                let (readers, names) = self.readers(b);
                json!({
                    "public": b.public,
                    "readers": readers,
                    "reader_names": names,
                })
            }
            (_, _, Facts::Public(public)) => json!({ "public": public }),
            _ => Json::Null,
        }
    }
}

/// The facts of one asset, by type.
fn extract(asset: &Asset) -> Facts {
    let t = asset.resource_type.as_str();
    if t.starts_with("gcp.") || t.starts_with("azure.") {
        crate::exposure::extract(t, &asset.config)
    } else {
        crate::computed::extract(asset)
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
    use rampart_model::{Provider, ResourceType};

    /// A deterministic pseudo-random generator (no dependency needed).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn chance(&mut self, one_in: u64) -> bool {
            self.next().is_multiple_of(one_in)
        }
    }

    const TYPES: &[&str] = &[
        "aws.ec2.instance",
        "aws.ec2.subnet",
        "aws.ec2.route_table",
        "aws.ec2.network_acl",
        "aws.ec2.security_group",
        "aws.rds.db_instance",
        "aws.iam.user",
        "aws.iam.role",
        "aws.iam.group",
        "aws.iam.policy",
        "aws.s3.bucket",
        "gcp.compute.instance",
        "gcp.compute.network",
        "gcp.compute.firewall",
        "azure.compute.vm",
        "azure.network.nic",
        "azure.network.publicip",
        "azure.network.nsg",
        "azure.network.subnet",
        "aws.organizations.policy",
    ];

    /// Relationship kinds between types, as the collectors emit them.
    const EDGES: &[(&str, &str, &str)] = &[
        ("aws.ec2.instance", "contained_in", "aws.ec2.subnet"),
        ("aws.ec2.route_table", "associated_with", "aws.ec2.subnet"),
        ("aws.ec2.network_acl", "associated_with", "aws.ec2.subnet"),
        ("aws.ec2.instance", "uses", "aws.ec2.security_group"),
        ("aws.ec2.instance", "uses", "aws.iam.role"),
        ("aws.rds.db_instance", "uses", "aws.ec2.security_group"),
        ("aws.iam.user", "member_of", "aws.iam.group"),
        ("aws.iam.user", "attached_to", "aws.iam.policy"),
        ("aws.iam.role", "attached_to", "aws.iam.policy"),
        ("aws.iam.group", "attached_to", "aws.iam.policy"),
        ("aws.iam.user", "bounded_by", "aws.iam.policy"),
        ("aws.iam.role", "bounded_by", "aws.iam.policy"),
        ("gcp.compute.instance", "attached_to", "gcp.compute.network"),
        ("gcp.compute.firewall", "applies_to", "gcp.compute.network"),
        ("azure.compute.vm", "uses", "azure.network.nic"),
        ("azure.network.nic", "uses", "azure.network.publicip"),
        ("azure.network.nic", "uses", "azure.network.nsg"),
        ("azure.network.nic", "attached_to", "azure.network.subnet"),
        ("azure.network.subnet", "uses", "azure.network.nsg"),
    ];

    fn policy_doc(r: &mut Rng) -> Json {
        let stmt = match r.below(6) {
            0 => json!({"Effect": "Allow", "Action": "*", "Resource": "*"}),
            1 => json!({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}),
            2 => {
                json!({"Effect": "Allow", "Action": ["s3:Get*"], "Resource": [format!("arn:aws:s3:::b{}/*", r.below(6))]})
            }
            3 => {
                json!({"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"})
            }
            4 => json!({"Effect": "Deny", "Action": "*", "Resource": "*"}),
            _ => json!({"Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"}),
        };
        json!({"Statement": [stmt]})
    }

    fn config(t: &str, r: &mut Rng) -> (Json, Vec<(&'static str, &'static str)>) {
        let world = |r: &mut Rng| {
            if r.chance(2) {
                "0.0.0.0/0"
            } else {
                "10.0.0.0/8"
            }
        };
        let cfg = match t {
            "aws.ec2.instance" => {
                let mut c =
                    json!({"state": {"name": if r.chance(4) { "stopped" } else { "running" }}});
                if !r.chance(3) {
                    c["publicIpAddress"] = json!("203.0.113.9");
                }
                c
            }
            "aws.ec2.route_table" => json!({"routes": [{"destinationCidrBlock": "0.0.0.0/0",
                "gatewayId": if r.chance(3) { "nat-1" } else { "igw-1" }, "state": "active"}]}),
            "aws.ec2.network_acl" => json!({"entries": [{"ruleNumber": 100, "egress": false,
                "cidrBlock": "0.0.0.0/0", "ruleAction": if r.chance(3) { "deny" } else { "allow" }}]}),
            "aws.ec2.security_group" => {
                let port = [22, 443, 5432][r.below(3)];
                json!({"ipPermissions": [{"ipProtocol": "tcp", "fromPort": port, "toPort": port,
                    "ipRanges": [{"cidrIp": world(r)}], "ipv6Ranges": []}]})
            }
            "aws.rds.db_instance" => json!({"publiclyAccessible": r.chance(2),
                "endpoint": {"port": 5432}}),
            "aws.iam.user" | "aws.iam.role" | "aws.iam.group" => {
                let key = match t {
                    "aws.iam.user" => "userPolicyList",
                    "aws.iam.role" => "rolePolicyList",
                    _ => "groupPolicyList",
                };
                let list = if r.chance(2) {
                    json!([{"policyName": "inline", "policyDocument": policy_doc(r)}])
                } else {
                    json!([])
                };
                json!({ key: list, "arn": "" })
            }
            "aws.iam.policy" => json!({"document": policy_doc(r)}),
            "aws.organizations.policy" => {
                let doc = match r.below(3) {
                    0 => {
                        json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
                    }
                    1 => json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                        {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}),
                    _ => {
                        json!({"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]})
                    }
                };
                let account = if r.chance(2) { "1" } else { "2" };
                json!({"type": "SERVICE_CONTROL_POLICY", "content": doc, "appliesToAccounts": [account]})
            }
            "aws.s3.bucket" => {
                let on = r.chance(2);
                let grantee = format!("arn:aws:iam::1:x/n{}", r.below(80));
                let effect = if r.chance(3) { "Deny" } else { "Allow" };
                let principal = if r.chance(4) {
                    json!("*")
                } else {
                    json!({"AWS": [grantee]})
                };
                json!({"name": format!("b{}", r.below(6)), "publicAccessBlock": {
                    "ignorePublicAcls": on, "restrictPublicBuckets": on},
                    "acl": {"grants": [{"grantee": {"uri": "http://acs.amazonaws.com/groups/global/AllUsers"}}]},
                    "policy": {"Statement": [{"Effect": effect, "Principal": principal,
                        "Action": "s3:GetObject", "Resource": "*"}]}})
            }
            "gcp.compute.instance" => {
                let mut nic = json!({});
                if !r.chance(3) {
                    nic["accessConfigs"] = json!([{"natIP": "203.0.113.8"}]);
                }
                json!({"status": if r.chance(4) { "TERMINATED" } else { "RUNNING" },
                    "networkInterfaces": [nic], "tags": {"items": [if r.chance(2) { "web" } else { "db" }]}})
            }
            "gcp.compute.firewall" => {
                let mut f = json!({"direction": "INGRESS", "priority": 100 * (1 + r.below(5)),
                    "sourceRanges": [world(r)]});
                let ports = ["22", "443", "0-1024"][r.below(3)];
                f[if r.chance(3) { "denied" } else { "allowed" }] =
                    json!([{"IPProtocol": "tcp", "ports": [ports]}]);
                if r.chance(2) {
                    f["targetTags"] = json!(["web"]);
                }
                f
            }
            "azure.network.nsg" => {
                let range = ["22", "443", "*"][r.below(3)];
                json!({"properties": {"securityRules": [{"properties": {
                "direction": "Inbound", "sourceAddressPrefix": if r.chance(2) { "*" } else { "10.0.0.0/8" },
                "destinationPortRange": range,
                "access": if r.chance(3) { "Deny" } else { "Allow" }, "priority": 100 * (1 + r.below(5))}}]}})
            }
            _ => json!({}),
        };
        (cfg, Vec::new())
    }

    fn make(id: usize, t: &str, r: &mut Rng) -> Asset {
        let rt = ResourceType::parse(t).unwrap();
        let mut tags = std::collections::BTreeMap::new();
        if t == "aws.s3.bucket" && r.chance(2) {
            tags.insert(
                "data-classification".to_string(),
                "confidential".to_string(),
            );
        }
        let mut config = config(t, r).0;
        if config.get("arn").is_some() {
            config["arn"] = json!(format!("arn:aws:iam::1:x/n{id}"));
        }
        Asset {
            id: format!("a{id}"),
            provider: Provider::Aws,
            account: if r.chance(2) { "1" } else { "2" }.into(),
            region: "r".into(),
            resource_type: rt,
            native_id: format!("a{id}"),
            name: format!("n{id}"),
            tags,
            config,
            first_seen: chrono::DateTime::UNIX_EPOCH,
            last_seen: chrono::DateTime::UNIX_EPOCH,
        }
    }

    fn random_edge(inv: &Inventory, r: &mut Rng) -> Option<Relationship> {
        let (ft, kind, tt) = EDGES[r.below(EDGES.len())];
        let of = |t: &str| -> Vec<&Asset> {
            inv.assets
                .iter()
                .filter(|a| a.resource_type.as_str() == t)
                .collect()
        };
        let (from, to) = (of(ft), of(tt));
        if from.is_empty() || to.is_empty() {
            return None;
        }
        Some(Relationship {
            from: from[r.below(from.len())].id.clone(),
            to: to[r.below(to.len())].id.clone(),
            kind: kind.into(),
        })
    }

    fn all_props(s: &GraphState, inv: &Inventory) -> Vec<(String, Json)> {
        inv.assets
            .iter()
            .map(|a| (a.id.clone(), s.props_json(s.slot(&a.id).unwrap())))
            .collect()
    }

    /// Incremental maintenance must give exactly what a fresh build of the same inventory
    /// gives, whatever changed: configurations, relationships, assets added, removed and
    /// brought back (relationships naming a missing asset wait for it).
    #[test]
    fn incremental_updates_match_a_fresh_build() {
        let mut r = Rng(0x5eed);
        for round in 0..60 {
            let mut next_id = 0;
            let mut inv = Inventory {
                assets: Vec::new(),
                relationships: Vec::new(),
            };
            for _ in 0..80 {
                let t = TYPES[r.below(TYPES.len())];
                inv.assets.push(make(next_id, t, &mut r));
                next_id += 1;
            }
            for _ in 0..240 {
                if let Some(e) = random_edge(&inv, &mut r) {
                    inv.relationships.push(e);
                }
            }
            let mut state = GraphState::build(&inv);
            let mut removed: Vec<Asset> = Vec::new();
            for step in 0..20 {
                for _ in 0..1 + r.below(4) {
                    match r.below(6) {
                        0 | 1 if !inv.assets.is_empty() => {
                            let i = r.below(inv.assets.len());
                            let t = inv.assets[i].resource_type.as_str().to_string();
                            let arn = inv.assets[i].config.get("arn").cloned();
                            inv.assets[i].config = config(&t, &mut r).0;
                            if let Some(arn) = arn {
                                inv.assets[i].config["arn"] = arn;
                            }
                        }
                        2 if !inv.assets.is_empty() => {
                            let i = r.below(inv.assets.len());
                            removed.push(inv.assets.remove(i));
                        }
                        3 => {
                            if let Some(a) = removed.pop() {
                                inv.assets.push(a);
                            } else {
                                let t = TYPES[r.below(TYPES.len())];
                                inv.assets.push(make(next_id, t, &mut r));
                                next_id += 1;
                            }
                        }
                        4 if !inv.relationships.is_empty() => {
                            let i = r.below(inv.relationships.len());
                            inv.relationships.remove(i);
                        }
                        _ => {
                            if let Some(e) = random_edge(&inv, &mut r) {
                                inv.relationships.push(e);
                            }
                        }
                    }
                }
                let stats = state.sync(&inv);
                let fresh = GraphState::build(&inv);
                assert_eq!(state.asset_count(), inv.assets.len());
                assert_eq!(
                    state.edge_count(),
                    fresh.edge_count(),
                    "round {round} step {step}: edges"
                );
                for ((id, got), (_, want)) in all_props(&state, &inv)
                    .into_iter()
                    .zip(all_props(&fresh, &inv))
                {
                    assert_eq!(
                        got, want,
                        "round {round} step {step}: asset {id}: {stats:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_unchanged_inventory_recomputes_nothing_and_a_small_change_little() {
        let mut r = Rng(7);
        let mut inv = Inventory {
            assets: (0..400)
                .map(|i| make(i, TYPES[i % TYPES.len()], &mut r))
                .collect(),
            relationships: Vec::new(),
        };
        for _ in 0..600 {
            if let Some(e) = random_edge(&inv, &mut r) {
                inv.relationships.push(e);
            }
        }
        let mut state = GraphState::build(&inv);
        assert_eq!(
            state.sync(&inv),
            CommitStats {
                changed: 0,
                recomputed: 0
            }
        );
        let sg = inv
            .assets
            .iter()
            .position(|a| a.resource_type.as_str() == "aws.ec2.security_group")
            .unwrap();
        inv.assets[sg].config = json!({"ipPermissions": []});
        let stats = state.sync(&inv);
        assert_eq!(stats.changed, 1);
        // The group itself and the instances and databases using it.
        let users = inv
            .relationships
            .iter()
            .filter(|e| e.to == inv.assets[sg].id && e.kind == "uses")
            .map(|e| &e.from)
            .collect::<HashSet<_>>()
            .len();
        assert_eq!(stats.recomputed, 1 + users, "{stats:?}");
    }

    fn asset(id: &str, t: &str, config: Json) -> Asset {
        let mut r = Rng(1);
        let mut a = make(0, t, &mut r);
        a.id = id.into();
        a.name = id.into();
        a.config = config;
        a
    }

    fn rel(from: &str, to: &str, kind: &str) -> Relationship {
        Relationship {
            from: from.into(),
            to: to.into(),
            kind: kind.into(),
        }
    }

    fn exposed(s: &GraphState, id: &str) -> Json {
        s.props_json(s.slot(id).unwrap())["internet_exposed"].clone()
    }

    #[test]
    fn a_relationship_to_a_missing_asset_waits_for_it() {
        let open = json!({"properties": {"securityRules": [{"properties": {"direction": "Inbound",
            "sourceAddressPrefix": "*", "destinationPortRange": "22", "access": "Allow", "priority": 100}}]}});
        let mut inv = Inventory {
            assets: vec![
                asset("vm", "azure.compute.vm", json!({})),
                asset("nic", "azure.network.nic", json!({})),
                asset("ip", "azure.network.publicip", json!({})),
                asset("nsg", "azure.network.nsg", open.clone()),
            ],
            relationships: vec![
                rel("vm", "nic", "uses"),
                rel("nic", "ip", "uses"),
                rel("nic", "nsg", "uses"),
            ],
        };
        let mut state = GraphState::build(&inv);
        assert_eq!(exposed(&state, "vm"), json!(true));
        // The public address disappears from one scan and comes back in the next; the
        // interface's relationships never changed.
        let ip = inv.assets.remove(2);
        state.sync(&inv);
        assert_eq!(state.edge_count(), 2);
        assert_eq!(exposed(&state, "vm"), json!(false));
        inv.assets.push(ip);
        state.sync(&inv);
        assert_eq!(state.edge_count(), 3);
        assert_eq!(exposed(&state, "vm"), json!(true));
        // A rule change two hops away reaches the machine.
        let nsg = inv.assets.iter_mut().find(|a| a.id == "nsg").unwrap();
        nsg.config["properties"]["securityRules"][0]["properties"]["access"] = json!("Deny");
        let stats = state.sync(&inv);
        assert_eq!(exposed(&state, "vm"), json!(false));
        assert_eq!(stats.changed, 1);
    }
}
