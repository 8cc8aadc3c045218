//! Runtime values. JSON is borrowed from the asset, never copied: objects and arrays stay
//! references into the asset's configuration, strings are borrowed slices.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::rc::Rc;

use chrono::{DateTime, TimeDelta, Utc};
use rampart_model::Asset;
use serde_json::Value as Json;

use super::EvalError;

#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(Cow<'a, str>),
    /// A JSON object or array inside the asset (scalars are converted eagerly).
    Json(&'a Json),
    List(Rc<Vec<Val<'a>>>),
    Map(Rc<Vec<(Val<'a>, Val<'a>)>>),
    Tags(&'a BTreeMap<String, String>),
    Asset(&'a Asset),
    Timestamp(DateTime<Utc>),
    Duration(TimeDelta),
}

impl<'a> Val<'a> {
    /// Converts a borrowed JSON value: scalars become scalars, containers stay borrowed.
    #[inline]
    pub(crate) fn from_json(j: &'a Json) -> Val<'a> {
        match j {
            Json::Null => Val::Null,
            Json::Bool(b) => Val::Bool(*b),
            Json::Number(n) => Val::number(n),
            Json::String(s) => Val::Str(Cow::Borrowed(s.as_str())),
            Json::Array(_) | Json::Object(_) => Val::Json(j),
        }
    }

    fn number(n: &serde_json::Number) -> Val<'a> {
        if let Some(i) = n.as_i64() {
            Val::Int(i)
        } else if let Some(u) = n.as_u64() {
            Val::Uint(u)
        } else {
            Val::Double(n.as_f64().unwrap_or(f64::NAN))
        }
    }

    /// Converts an owned JSON value (computed properties), copying it into owned values.
    pub(crate) fn from_owned_json(j: Json) -> Val<'a> {
        match j {
            Json::Null => Val::Null,
            Json::Bool(b) => Val::Bool(b),
            Json::Number(n) => Val::number(&n),
            Json::String(s) => Val::Str(Cow::Owned(s)),
            Json::Array(a) => Val::List(Rc::new(a.into_iter().map(Val::from_owned_json).collect())),
            Json::Object(m) => Val::Map(Rc::new(
                m.into_iter()
                    .map(|(k, v)| (Val::Str(Cow::Owned(k)), Val::from_owned_json(v)))
                    .collect(),
            )),
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Uint(_) => "uint",
            Val::Double(_) => "double",
            Val::Str(_) => "string",
            Val::Json(Json::Array(_)) | Val::List(_) => "list",
            Val::Json(_) | Val::Map(_) | Val::Tags(_) | Val::Asset(_) => "map",
            Val::Timestamp(_) => "timestamp",
            Val::Duration(_) => "duration",
        }
    }

    pub(crate) fn as_bool(&self) -> Result<bool, EvalError> {
        match self {
            Val::Bool(b) => Ok(*b),
            other => Err(EvalError::new(format!(
                "expected a bool, got {}",
                other.type_name()
            ))),
        }
    }

    /// Field selection `v.name`.
    pub(crate) fn select(&self, name: &str) -> Result<Val<'a>, EvalError> {
        match self {
            Val::Json(Json::Object(m)) => m
                .get(name)
                .map(Val::from_json)
                .ok_or_else(|| EvalError::no_such_key(name)),
            Val::Tags(t) => t
                .get(name)
                .map(|s| Val::Str(Cow::Borrowed(s.as_str())))
                .ok_or_else(|| EvalError::no_such_key(name)),
            Val::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Val::Str(s) if s == name))
                .map(|(_, v)| v.clone())
                .ok_or_else(|| EvalError::no_such_key(name)),
            Val::Asset(a) => asset_field(a, name),
            other => Err(EvalError::new(format!(
                "cannot select field `{name}` from a {}",
                other.type_name()
            ))),
        }
    }

    /// Presence test for `has(v.name)`: the key exists and its value is not null.
    pub(crate) fn has(&self, name: &str) -> Result<bool, EvalError> {
        match self {
            Val::Json(Json::Object(m)) => Ok(m.get(name).is_some_and(|v| !v.is_null())),
            Val::Tags(t) => Ok(t.contains_key(name)),
            Val::Map(entries) => Ok(entries
                .iter()
                .any(|(k, v)| matches!(k, Val::Str(s) if s == name) && !matches!(v, Val::Null))),
            Val::Asset(a) => Ok(asset_field(a, name).is_ok()),
            Val::Null => Ok(false),
            other => Err(EvalError::new(format!(
                "has() cannot test field `{name}` on a {}",
                other.type_name()
            ))),
        }
    }

    /// Indexing `v[i]`.
    pub(crate) fn index(&self, idx: &Val<'a>) -> Result<Val<'a>, EvalError> {
        match (self, idx) {
            (Val::Json(Json::Array(items)), _) => {
                let i = list_index(idx, items.len())?;
                Ok(Val::from_json(&items[i]))
            }
            (Val::List(items), _) => {
                let i = list_index(idx, items.len())?;
                Ok(items[i].clone())
            }
            (Val::Json(Json::Object(_)) | Val::Tags(_) | Val::Asset(_), Val::Str(k)) => {
                self.select(k)
            }
            (Val::Map(entries), key) => entries
                .iter()
                .find(|(k, _)| equals(k, key))
                .map(|(_, v)| v.clone())
                .ok_or_else(|| EvalError::new("no such key in map".to_string())),
            (container, key) => Err(EvalError::new(format!(
                "cannot index a {} with a {}",
                container.type_name(),
                key.type_name()
            ))),
        }
    }

    pub(crate) fn size(&self) -> Result<i64, EvalError> {
        let n = match self {
            Val::Str(s) => s.chars().count(),
            Val::Json(Json::Array(a)) => a.len(),
            Val::Json(Json::Object(m)) => m.len(),
            Val::List(l) => l.len(),
            Val::Map(m) => m.len(),
            Val::Tags(t) => t.len(),
            other => {
                return Err(EvalError::new(format!(
                    "size() is not defined for a {}",
                    other.type_name()
                )));
            }
        };
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// Items to iterate in a comprehension: list elements, or map keys.
    pub(crate) fn iter_items(&self) -> Result<ItemIter<'a, '_>, EvalError> {
        match self {
            Val::Json(Json::Array(a)) => Ok(ItemIter::JsonArray(a.iter())),
            Val::Json(Json::Object(m)) => Ok(ItemIter::JsonKeys(m.keys())),
            Val::List(l) => Ok(ItemIter::List(l.iter())),
            Val::Map(m) => Ok(ItemIter::Map(m.iter())),
            Val::Tags(t) => Ok(ItemIter::Tags(t.keys())),
            other => Err(EvalError::new(format!(
                "cannot iterate over a {}",
                other.type_name()
            ))),
        }
    }

    /// `self in container`.
    pub(crate) fn is_in(&self, container: &Val<'a>) -> Result<bool, EvalError> {
        match container {
            Val::Json(Json::Array(items)) => {
                Ok(items.iter().any(|j| equals(self, &Val::from_json(j))))
            }
            Val::List(items) => Ok(items.iter().any(|v| equals(self, v))),
            Val::Json(Json::Object(m)) => {
                Ok(matches!(self, Val::Str(k) if m.contains_key(k.as_ref())))
            }
            Val::Tags(t) => Ok(matches!(self, Val::Str(k) if t.contains_key(k.as_ref()))),
            Val::Map(entries) => Ok(entries.iter().any(|(k, _)| equals(self, k))),
            other => Err(EvalError::new(format!(
                "`in` needs a list or map on its right, got a {}",
                other.type_name()
            ))),
        }
    }

    pub(crate) fn to_json(&self) -> Json {
        match self {
            Val::Null => Json::Null,
            Val::Bool(b) => Json::Bool(*b),
            Val::Int(i) => Json::from(*i),
            Val::Uint(u) => Json::from(*u),
            Val::Double(d) => serde_json::Number::from_f64(*d).map_or(Json::Null, Json::Number),
            Val::Str(s) => Json::String(s.to_string()),
            Val::Json(j) => (*j).clone(),
            Val::List(l) => Json::Array(l.iter().map(Val::to_json).collect()),
            Val::Map(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| (k.to_display(), v.to_json()))
                    .collect(),
            ),
            Val::Tags(t) => Json::Object(
                t.iter()
                    .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                    .collect(),
            ),
            Val::Asset(a) => serde_json::to_value(a).unwrap_or(Json::Null),
            Val::Timestamp(t) => Json::String(t.to_rfc3339()),
            Val::Duration(d) => Json::String(format!("{}s", d.num_seconds())),
        }
    }

    pub(crate) fn to_display(&self) -> String {
        match self {
            Val::Str(s) => s.to_string(),
            Val::Null => "null".into(),
            Val::Bool(b) => b.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Uint(u) => u.to_string(),
            Val::Double(d) => d.to_string(),
            Val::Timestamp(t) => t.to_rfc3339(),
            Val::Duration(d) => format!("{}s", d.num_seconds()),
            other => other.to_json().to_string(),
        }
    }
}

pub(crate) enum ItemIter<'a, 'b> {
    JsonArray(std::slice::Iter<'a, Json>),
    JsonKeys(serde_json::map::Keys<'a>),
    List(std::slice::Iter<'b, Val<'a>>),
    Map(std::slice::Iter<'b, (Val<'a>, Val<'a>)>),
    Tags(std::collections::btree_map::Keys<'a, String, String>),
}

impl<'a> Iterator for ItemIter<'a, '_> {
    type Item = Val<'a>;
    #[inline]
    fn next(&mut self) -> Option<Val<'a>> {
        match self {
            ItemIter::JsonArray(it) => it.next().map(Val::from_json),
            ItemIter::JsonKeys(it) => it.next().map(|k| Val::Str(Cow::Borrowed(k.as_str()))),
            ItemIter::List(it) => it.next().cloned(),
            ItemIter::Map(it) => it.next().map(|(k, _)| k.clone()),
            ItemIter::Tags(it) => it.next().map(|k| Val::Str(Cow::Borrowed(k.as_str()))),
        }
    }
}

fn asset_field<'a>(a: &'a Asset, name: &str) -> Result<Val<'a>, EvalError> {
    Ok(match name {
        "id" => Val::Str(Cow::Borrowed(a.id.as_str())),
        "provider" => Val::Str(Cow::Borrowed(a.provider.as_str())),
        "account" => Val::Str(Cow::Borrowed(a.account.as_str())),
        "region" => Val::Str(Cow::Borrowed(a.region.as_str())),
        "type" => Val::Str(Cow::Borrowed(a.resource_type.as_str())),
        "native_id" => Val::Str(Cow::Borrowed(a.native_id.as_str())),
        "name" => Val::Str(Cow::Borrowed(a.name.as_str())),
        "tags" => Val::Tags(&a.tags),
        "config" => Val::from_json(&a.config),
        "computed" => {
            return Err(EvalError::new(
                "computed properties need the inventory's graph: read them as a field path (x.computed.name) while evaluating an inventory",
            ));
        }
        "first_seen" => Val::Timestamp(a.first_seen),
        "last_seen" => Val::Timestamp(a.last_seen),
        _ => return Err(EvalError::no_such_key(name)),
    })
}

/// The fields of `resource`, checked at compile time.
pub(crate) const ASSET_FIELDS: &[&str] = &[
    "id",
    "provider",
    "account",
    "region",
    "type",
    "native_id",
    "name",
    "tags",
    "config",
    "computed",
    "first_seen",
    "last_seen",
];

fn list_index(idx: &Val<'_>, len: usize) -> Result<usize, EvalError> {
    let i = match idx {
        Val::Int(i) => *i,
        Val::Uint(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        Val::Double(d) if d.fract() == 0.0 => *d as i64,
        other => {
            return Err(EvalError::new(format!(
                "list index must be an int, got {}",
                other.type_name()
            )));
        }
    };
    usize::try_from(i)
        .ok()
        .filter(|&i| i < len)
        .ok_or_else(|| EvalError::new(format!("index {i} out of range for a list of {len}")))
}

/// CEL equality (heterogeneous: values of different types are unequal; numbers compare by value).
pub(crate) fn equals(a: &Val<'_>, b: &Val<'_>) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Timestamp(x), Val::Timestamp(y)) => x == y,
        (Val::Duration(x), Val::Duration(y)) => x == y,
        (x, y) if is_number(x) && is_number(y) => num_cmp(x, y) == Some(Ordering::Equal),
        (Val::Json(Json::Array(_)) | Val::List(_), Val::Json(Json::Array(_)) | Val::List(_)) => {
            list_eq(a, b)
        }
        (Val::Json(Json::Object(_)) | Val::Map(_) | Val::Tags(_), _)
            if matches!(b, Val::Json(Json::Object(_)) | Val::Map(_) | Val::Tags(_)) =>
        {
            map_eq(a, b)
        }
        _ => false,
    }
}

fn list_eq(a: &Val<'_>, b: &Val<'_>) -> bool {
    let (Ok(ia), Ok(ib)) = (a.iter_items(), b.iter_items()) else {
        return false;
    };
    let va: Vec<Val<'_>> = ia.collect();
    let vb: Vec<Val<'_>> = ib.collect();
    va.len() == vb.len() && va.iter().zip(vb.iter()).all(|(x, y)| equals(x, y))
}

fn map_eq(a: &Val<'_>, b: &Val<'_>) -> bool {
    let (Ok(sa), Ok(sb)) = (a.size(), b.size()) else {
        return false;
    };
    if sa != sb {
        return false;
    }
    let Ok(keys) = a.iter_items() else {
        return false;
    };
    for k in keys {
        let (Ok(va), Ok(vb)) = (a.index(&k), b.index(&k)) else {
            return false;
        };
        if !equals(&va, &vb) {
            return false;
        }
    }
    true
}

#[inline]
pub(crate) fn is_number(v: &Val<'_>) -> bool {
    matches!(v, Val::Int(_) | Val::Uint(_) | Val::Double(_))
}

#[inline]
pub(crate) fn num_cmp(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Uint(x), Val::Uint(y)) => Some(x.cmp(y)),
        (Val::Int(x), Val::Uint(y)) => Some(if *x < 0 {
            Ordering::Less
        } else {
            (*x as u64).cmp(y)
        }),
        (Val::Uint(x), Val::Int(y)) => Some(if *y < 0 {
            Ordering::Greater
        } else {
            x.cmp(&(*y as u64))
        }),
        (Val::Double(x), Val::Double(y)) => x.partial_cmp(y),
        (Val::Double(x), Val::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Val::Int(x), Val::Double(y)) => (*x as f64).partial_cmp(y),
        (Val::Double(x), Val::Uint(y)) => x.partial_cmp(&(*y as f64)),
        (Val::Uint(x), Val::Double(y)) => (*x as f64).partial_cmp(y),
        _ => None,
    }
}

/// Ordering for `< <= > >=`.
pub(crate) fn compare(a: &Val<'_>, b: &Val<'_>) -> Result<Ordering, EvalError> {
    let ord = match (a, b) {
        (Val::Str(x), Val::Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Timestamp(x), Val::Timestamp(y)) => Some(x.cmp(y)),
        (Val::Duration(x), Val::Duration(y)) => Some(x.cmp(y)),
        (x, y) if is_number(x) && is_number(y) => num_cmp(x, y),
        _ => {
            return Err(EvalError::new(format!(
                "cannot compare a {} with a {}",
                a.type_name(),
                b.type_name()
            )));
        }
    };
    ord.ok_or_else(|| EvalError::new("comparison with NaN".to_string()))
}

/// Parses a duration string: a sequence of `<number><unit>` with units d, h, m, s, ms, us, ns,
/// optionally signed (`"90d"`, `"1h30m"`, `"-5s"`, `"1.5h"`).
pub(crate) fn parse_duration(s: &str) -> Result<TimeDelta, String> {
    let bad = || format!("invalid duration {s:?}: expected e.g. \"90d\", \"2160h\", \"1h30m\"");
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_end == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "d" => 86_400e9,
            "h" => 3_600e9,
            "m" => 60e9,
            "s" => 1e9,
            "ms" => 1e6,
            "us" | "µs" => 1e3,
            "ns" => 1.0,
            _ => return Err(bad()),
        };
        total_ns += n * factor;
        rest = &rest[unit_end..];
    }
    if !total_ns.is_finite() || total_ns.abs() > 9.0e18 {
        return Err(bad());
    }
    let d = TimeDelta::nanoseconds(total_ns as i64);
    Ok(if neg { -d } else { d })
}

pub(crate) fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("invalid timestamp {s:?}: {e} (expected RFC 3339)"))
}
