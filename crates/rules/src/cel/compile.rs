//! Compiles a CEL syntax tree into a tree of native closures.
//!
//! Name resolution, arity checks, literal folding, regular expressions and the shape of field
//! paths are all settled here, once. At run time each closure reads the asset in place.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::rc::Rc;

use chrono::{DateTime, TimeDelta, Utc};
use rampart_model::Asset;
use regex::Regex;
use serde_json::Value as Json;

use super::parser::{BinOp, Expr, ExprKind, UnOp};
use super::value::{ASSET_FIELDS, Val, compare, equals, parse_duration, parse_timestamp};
use super::{CelError, EvalError};
use crate::graph::{Graph, parse_path};

/// Evaluation state: the asset under test, the scan time and the comprehension variables.
pub(crate) struct Env<'a> {
    pub asset: &'a Asset,
    pub now: DateTime<Utc>,
    /// The inventory's relationships, when evaluating within an inventory.
    pub graph: Option<&'a Graph<'a>>,
    pub slots: [Val<'a>; MAX_SLOTS],
}

/// Most comprehension variables in scope at once (nesting depth of macros).
pub(crate) const MAX_SLOTS: usize = 8;

pub(crate) type Code =
    Box<dyn for<'a> Fn(&mut Env<'a>) -> Result<Val<'a>, EvalError> + Send + Sync>;

/// A literal known at compile time.
#[derive(Debug, Clone)]
enum Const {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(String),
    Timestamp(DateTime<Utc>),
    Duration(TimeDelta),
}

impl Const {
    fn to_val<'a>(&self) -> Val<'a> {
        match self {
            Const::Null => Val::Null,
            Const::Bool(b) => Val::Bool(*b),
            Const::Int(i) => Val::Int(*i),
            Const::Uint(u) => Val::Uint(*u),
            Const::Double(d) => Val::Double(*d),
            Const::Str(s) => Val::Str(Cow::Owned(s.clone())),
            Const::Timestamp(t) => Val::Timestamp(*t),
            Const::Duration(d) => Val::Duration(*d),
        }
    }

    #[inline]
    fn eq_val(&self, v: &Val<'_>) -> bool {
        match (self, v) {
            (Const::Str(c), Val::Str(s)) => c.as_str() == s.as_ref(),
            (Const::Str(_), _) | (_, Val::Str(_)) => false,
            (c, v) => equals(&c.to_val(), v),
        }
    }

    #[inline]
    fn cmp_val(&self, v: &Val<'_>) -> Result<Ordering, EvalError> {
        // Returns the ordering of `v` relative to the constant.
        match (self, v) {
            (Const::Int(c), Val::Int(x)) => Ok(x.cmp(c)),
            (Const::Str(c), Val::Str(s)) => Ok(s.as_ref().cmp(c.as_str())),
            (c, v) => compare(v, &c.to_val()),
        }
    }
}

/// Where a field path starts: the asset's configuration or a comprehension variable.
#[derive(Clone, Copy)]
enum JsonRoot {
    Config,
    Slot(usize),
}

/// Walks `keys` from `root` and applies `on_json` to the JSON found (the fast path), or
/// `on_val` when a comprehension variable holds a non-JSON value.
#[inline]
fn with_path<'a, T>(
    env: &Env<'a>,
    root: JsonRoot,
    keys: &[String],
    on_json: impl FnOnce(&'a Json) -> Result<T, EvalError>,
    on_val: impl FnOnce(Val<'a>) -> Result<T, EvalError>,
) -> Result<T, EvalError> {
    match root {
        JsonRoot::Config => on_json(walk_json(&env.asset.config, keys)?),
        JsonRoot::Slot(i) => match &env.slots[i] {
            Val::Json(j) => {
                let j: &'a Json = j;
                on_json(walk_json(j, keys)?)
            }
            other => on_val(walk_in(other.clone(), keys, env.graph)?),
        },
    }
}

impl Const {
    #[inline]
    fn eq_json(&self, j: &Json) -> bool {
        match (self, j) {
            (Const::Str(c), Json::String(s)) => c == s,
            (Const::Str(_), _) => false,
            (Const::Bool(c), Json::Bool(b)) => c == b,
            _ => self.eq_val(&Val::from_json(j)),
        }
    }

    #[inline]
    fn cmp_json(&self, j: &Json) -> Result<Ordering, EvalError> {
        if let (Const::Int(c), Json::Number(n)) = (self, j)
            && let Some(i) = n.as_i64()
        {
            return Ok(i.cmp(c));
        }
        self.cmp_val(&Val::from_json(j))
    }
}

fn const_of(e: &Expr) -> Option<Const> {
    Some(match &e.kind {
        ExprKind::Null => Const::Null,
        ExprKind::Bool(b) => Const::Bool(*b),
        ExprKind::Int(i) => Const::Int(*i),
        ExprKind::Uint(u) => Const::Uint(*u),
        ExprKind::Double(d) => Const::Double(*d),
        ExprKind::Str(s) => Const::Str(s.clone()),
        _ => return None,
    })
}

pub(crate) struct Compiler<'s> {
    src: &'s str,
    scopes: Vec<(String, usize)>,
}

impl<'s> Compiler<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        Compiler {
            src,
            scopes: Vec::new(),
        }
    }

    fn err(&self, pos: usize, msg: impl Into<String>) -> CelError {
        CelError::at(self.src, pos, msg)
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        self.scopes
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
    }

    pub(crate) fn compile(&mut self, e: &Expr) -> Result<Code, CelError> {
        match &e.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Uint(_)
            | ExprKind::Double(_)
            | ExprKind::Str(_) => {
                let c = const_of(e).ok_or_else(|| self.err(e.pos, "internal: literal"))?;
                Ok(lit(c))
            }
            ExprKind::Ident(name) => self.ident(name, e.pos),
            ExprKind::Select(..) => self.select_path(e),
            ExprKind::Index(target, idx) => {
                let t = self.compile(target)?;
                if let Some(Const::Str(key)) = const_of(idx) {
                    return Ok(Box::new(move |env| t(env)?.select(&key)));
                }
                let i = self.compile(idx)?;
                Ok(Box::new(move |env| {
                    let container = t(env)?;
                    let index = i(env)?;
                    container.index(&index)
                }))
            }
            ExprKind::Unary(op, inner) => {
                let c = self.compile(inner)?;
                Ok(match op {
                    UnOp::Not => Box::new(move |env| Ok(Val::Bool(!c(env)?.as_bool()?))),
                    UnOp::Neg => Box::new(move |env| match c(env)? {
                        Val::Int(i) => i
                            .checked_neg()
                            .map(Val::Int)
                            .ok_or_else(|| EvalError::new("integer overflow")),
                        Val::Double(d) => Ok(Val::Double(-d)),
                        Val::Duration(d) => Ok(Val::Duration(-d)),
                        other => Err(EvalError::new(format!(
                            "cannot negate a {}",
                            other.type_name()
                        ))),
                    }),
                })
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r),
            ExprKind::Cond(c, t, f) => {
                let c = self.compile(c)?;
                let t = self.compile(t)?;
                let f = self.compile(f)?;
                Ok(Box::new(
                    move |env| {
                        if c(env)?.as_bool()? { t(env) } else { f(env) }
                    },
                ))
            }
            ExprKind::List(items) => {
                if let Some(consts) = items.iter().map(const_of).collect::<Option<Vec<_>>>() {
                    return Ok(Box::new(move |_| {
                        Ok(Val::List(Rc::new(
                            consts.iter().map(Const::to_val).collect(),
                        )))
                    }));
                }
                let codes = items
                    .iter()
                    .map(|i| self.compile(i))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Box::new(move |env| {
                    let mut out = Vec::with_capacity(codes.len());
                    for c in &codes {
                        out.push(c(env)?);
                    }
                    Ok(Val::List(Rc::new(out)))
                }))
            }
            ExprKind::Map(entries) => {
                let mut codes = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    if !matches!(
                        k.kind,
                        ExprKind::Str(_)
                            | ExprKind::Int(_)
                            | ExprKind::Uint(_)
                            | ExprKind::Bool(_)
                            | ExprKind::Ident(_)
                            | ExprKind::Select(..)
                            | ExprKind::Call(..)
                    ) {
                        return Err(
                            self.err(k.pos, "map keys must be strings, ints, uints or bools")
                        );
                    }
                    codes.push((self.compile(k)?, self.compile(v)?));
                }
                Ok(Box::new(move |env| {
                    let mut out: Vec<(Val<'_>, Val<'_>)> = Vec::with_capacity(codes.len());
                    for (k, v) in &codes {
                        let key = k(env)?;
                        if !matches!(key, Val::Str(_) | Val::Int(_) | Val::Uint(_) | Val::Bool(_)) {
                            return Err(EvalError::new(format!(
                                "a {} cannot be a map key",
                                key.type_name()
                            )));
                        }
                        if out.iter().any(|(existing, _)| equals(existing, &key)) {
                            return Err(EvalError::new(format!(
                                "duplicate map key {}",
                                key.to_display()
                            )));
                        }
                        let value = v(env)?;
                        out.push((key, value));
                    }
                    Ok(Val::Map(Rc::new(out)))
                }))
            }
            ExprKind::Call(target, name, args) => self.call(e.pos, target.as_deref(), name, args),
        }
    }

    fn ident(&mut self, name: &str, pos: usize) -> Result<Code, CelError> {
        if let Some(slot) = self.lookup(name) {
            return Ok(Box::new(move |env| Ok(env.slots[slot].clone())));
        }
        match name {
            "resource" => Ok(Box::new(|env| Ok(Val::Asset(env.asset)))),
            "now" => Ok(Box::new(|env| Ok(Val::Timestamp(env.now)))),
            _ => Err(self.err(
                pos,
                format!("undeclared reference to `{name}` (known variables: resource, now)"),
            )),
        }
    }

    /// A field path rooted at `resource.config` or at a comprehension variable, if `e` is one.
    fn json_path(&self, e: &Expr) -> Option<(JsonRoot, Vec<String>)> {
        let mut keys = Vec::new();
        let mut base = e;
        while let ExprKind::Select(inner, field) = &base.kind {
            keys.push(field.clone());
            base = inner;
        }
        keys.reverse();
        let ExprKind::Ident(name) = &base.kind else {
            return None;
        };
        if let Some(slot) = self.lookup(name) {
            return (!keys.is_empty()).then_some((JsonRoot::Slot(slot), keys));
        }
        if name == "resource" && keys.first().is_some_and(|k| k == "config") {
            return Some((JsonRoot::Config, keys[1..].to_vec()));
        }
        None
    }

    /// Compiles a chain of field selections `base.a.b.c` into a single closure.
    fn select_path(&mut self, e: &Expr) -> Result<Code, CelError> {
        let mut keys = Vec::new();
        let mut base = e;
        while let ExprKind::Select(inner, field) = &base.kind {
            keys.push(field.clone());
            base = inner;
        }
        keys.reverse();
        if let ExprKind::Ident(name) = &base.kind
            && name == "resource"
            && self.lookup("resource").is_none()
        {
            let first = &keys[0];
            if !ASSET_FIELDS.contains(&first.as_str()) {
                return Err(self.err(
                    e.pos,
                    format!(
                        "`resource` has no field `{first}` (fields: {})",
                        ASSET_FIELDS.join(", ")
                    ),
                ));
            }
            if first == "config" {
                let rest: Vec<String> = keys[1..].to_vec();
                return Ok(Box::new(move |env| {
                    walk_json(&env.asset.config, &rest).map(Val::from_json)
                }));
            }
            let rest: Vec<String> = keys.clone();
            return Ok(Box::new(move |env| {
                walk_in(Val::Asset(env.asset), &rest, env.graph)
            }));
        }
        if let ExprKind::Ident(name) = &base.kind
            && let Some(slot) = self.lookup(name)
        {
            return Ok(Box::new(move |env| match &env.slots[slot] {
                Val::Json(j) => {
                    let j: &Json = j;
                    walk_json(j, &keys).map(Val::from_json)
                }
                other => walk_in(other.clone(), &keys, env.graph),
            }));
        }
        let b = self.compile(base)?;
        Ok(Box::new(move |env| walk_in(b(env)?, &keys, env.graph)))
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr) -> Result<Code, CelError> {
        match op {
            BinOp::And | BinOp::Or => {
                let lc = self.compile(l)?;
                let rc = self.compile(r)?;
                let short = op == BinOp::Or; // the value that decides the result
                Ok(Box::new(move |env| {
                    let left = lc(env).and_then(|v| v.as_bool());
                    if let Ok(b) = left
                        && b == short
                    {
                        return Ok(Val::Bool(short));
                    }
                    let right = rc(env).and_then(|v| v.as_bool());
                    match (left, right) {
                        (_, Ok(b)) if b == short => Ok(Val::Bool(short)),
                        (Err(e), _) | (_, Err(e)) => Err(e),
                        (Ok(_), Ok(_)) => Ok(Val::Bool(!short)),
                    }
                }))
            }
            BinOp::Eq | BinOp::Ne => {
                let negate = op == BinOp::Ne;
                let (c, other) = match (const_of(l), const_of(r)) {
                    (_, Some(c)) => (Some(c), l),
                    (Some(c), None) => (Some(c), r),
                    (None, None) => (None, l),
                };
                if let Some(c) = c {
                    if let Some((root, keys)) = self.json_path(other) {
                        return Ok(Box::new(move |env| {
                            let eq = with_path(
                                env,
                                root,
                                &keys,
                                |j| Ok(c.eq_json(j)),
                                |v| Ok(c.eq_val(&v)),
                            )?;
                            Ok(Val::Bool(eq != negate))
                        }));
                    }
                    let oc = self.compile(other)?;
                    return Ok(Box::new(move |env| {
                        let v = oc(env)?;
                        Ok(Val::Bool(c.eq_val(&v) != negate))
                    }));
                }
                let lc = self.compile(l)?;
                let rc = self.compile(r)?;
                Ok(Box::new(move |env| {
                    let a = lc(env)?;
                    let b = rc(env)?;
                    Ok(Val::Bool(equals(&a, &b) != negate))
                }))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let test: fn(Ordering) -> bool = match op {
                    BinOp::Lt => Ordering::is_lt,
                    BinOp::Le => Ordering::is_le,
                    BinOp::Gt => Ordering::is_gt,
                    _ => Ordering::is_ge,
                };
                if let Some(c) = const_of(r)
                    && let Some((root, keys)) = self.json_path(l)
                {
                    return Ok(Box::new(move |env| {
                        let ord =
                            with_path(env, root, &keys, |j| c.cmp_json(j), |v| c.cmp_val(&v))?;
                        Ok(Val::Bool(test(ord)))
                    }));
                }
                if let Some(c) = const_of(r) {
                    let lc = self.compile(l)?;
                    return Ok(Box::new(move |env| {
                        let v = lc(env)?;
                        Ok(Val::Bool(test(c.cmp_val(&v)?)))
                    }));
                }
                if let Some(c) = const_of(l) {
                    let rc = self.compile(r)?;
                    return Ok(Box::new(move |env| {
                        let v = rc(env)?;
                        Ok(Val::Bool(test(c.cmp_val(&v)?.reverse())))
                    }));
                }
                let lc = self.compile(l)?;
                let rc = self.compile(r)?;
                Ok(Box::new(move |env| {
                    let a = lc(env)?;
                    let b = rc(env)?;
                    Ok(Val::Bool(test(compare(&a, &b)?)))
                }))
            }
            BinOp::In => {
                let lc = self.compile(l)?;
                if let ExprKind::List(items) = &r.kind
                    && let Some(consts) = items.iter().map(const_of).collect::<Option<Vec<_>>>()
                {
                    return Ok(Box::new(move |env| {
                        let v = lc(env)?;
                        Ok(Val::Bool(consts.iter().any(|c| c.eq_val(&v))))
                    }));
                }
                let rc = self.compile(r)?;
                Ok(Box::new(move |env| {
                    let v = lc(env)?;
                    let container = rc(env)?;
                    Ok(Val::Bool(v.is_in(&container)?))
                }))
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                let lc = self.compile(l)?;
                let rc = self.compile(r)?;
                Ok(Box::new(move |env| {
                    let a = lc(env)?;
                    let b = rc(env)?;
                    arith(op, a, b)
                }))
            }
        }
    }

    fn call(
        &mut self,
        pos: usize,
        target: Option<&Expr>,
        name: &str,
        args: &[Expr],
    ) -> Result<Code, CelError> {
        // Macros first: they bind variables or inspect the syntax of their argument.
        match (name, target, args.len()) {
            ("has", None, 1) => return self.has(&args[0]),
            ("has", _, _) => {
                return Err(self.err(
                    pos,
                    "has() takes exactly one field selection, e.g. has(resource.config.name)",
                ));
            }
            ("all" | "exists" | "exists_one" | "filter", Some(t), 2) | ("map", Some(t), 2 | 3) => {
                return self.comprehension(pos, t, name, args);
            }
            ("all" | "exists" | "exists_one" | "filter" | "map", _, n) => {
                return Err(self.err(
                    pos,
                    format!(
                        "{name}() is a macro: use list.{name}(var, expression); got {n} argument(s)"
                    ),
                ));
            }
            _ => {}
        }
        if name == "related" {
            return self.related(pos, target, args);
        }
        // Global forms of receiver functions: size(x), matches(s, re), string functions.
        let (recv, rest): (&Expr, &[Expr]) = match target {
            Some(t) => (t, args),
            None => match name {
                "size" | "matches" | "contains" | "startsWith" | "endsWith" | "lowerAscii"
                | "upperAscii" | "trim"
                    if !args.is_empty() =>
                {
                    (&args[0], &args[1..])
                }
                "int" | "uint" | "double" | "string" | "bool" | "timestamp" | "duration"
                | "dyn" => return self.conversion(pos, name, args),
                _ => {
                    return Err(self.err(pos, format!("unknown function `{name}`")));
                }
            },
        };
        let arity = |n: usize| -> Result<(), CelError> {
            if rest.len() == n {
                Ok(())
            } else {
                Err(self.err(
                    pos,
                    format!(
                        "{name}() takes {n} argument(s) besides its receiver, got {}",
                        rest.len()
                    ),
                ))
            }
        };
        match name {
            "size" => {
                arity(0)?;
                let rc = self.compile(recv)?;
                Ok(Box::new(move |env| Ok(Val::Int(rc(env)?.size()?))))
            }
            "contains" | "startsWith" | "endsWith" => {
                arity(1)?;
                let rc = self.compile(recv)?;
                let f: fn(&str, &str) -> bool = match name {
                    "contains" => |s, t| s.contains(t),
                    "startsWith" => |s, t| s.starts_with(t),
                    _ => |s, t| s.ends_with(t),
                };
                if let Some(Const::Str(lit)) = const_of(&rest[0]) {
                    return Ok(Box::new(move |env| match rc(env)? {
                        Val::Str(s) => Ok(Val::Bool(f(&s, &lit))),
                        other => Err(not_string(&other)),
                    }));
                }
                let ac = self.compile(&rest[0])?;
                Ok(Box::new(move |env| match (rc(env)?, ac(env)?) {
                    (Val::Str(s), Val::Str(t)) => Ok(Val::Bool(f(&s, &t))),
                    (a, b) => Err(EvalError::new(format!(
                        "string function needs two strings, got {} and {}",
                        a.type_name(),
                        b.type_name()
                    ))),
                }))
            }
            "matches" => {
                arity(1)?;
                let rc = self.compile(recv)?;
                if let Some(Const::Str(pattern)) = const_of(&rest[0]) {
                    let re = Regex::new(&pattern).map_err(|e| {
                        self.err(rest[0].pos, format!("invalid regular expression: {e}"))
                    })?;
                    return Ok(Box::new(move |env| match rc(env)? {
                        Val::Str(s) => Ok(Val::Bool(re.is_match(&s))),
                        other => Err(not_string(&other)),
                    }));
                }
                let pc = self.compile(&rest[0])?;
                Ok(Box::new(move |env| match (rc(env)?, pc(env)?) {
                    (Val::Str(s), Val::Str(p)) => {
                        let re = Regex::new(&p).map_err(|e| {
                            EvalError::new(format!("invalid regular expression: {e}"))
                        })?;
                        Ok(Val::Bool(re.is_match(&s)))
                    }
                    (a, b) => Err(EvalError::new(format!(
                        "matches() needs two strings, got {} and {}",
                        a.type_name(),
                        b.type_name()
                    ))),
                }))
            }
            "lowerAscii" | "upperAscii" | "trim" => {
                arity(0)?;
                let rc = self.compile(recv)?;
                let f: fn(&str) -> String = match name {
                    "lowerAscii" => str::to_ascii_lowercase,
                    "upperAscii" => str::to_ascii_uppercase,
                    _ => |s| s.trim().to_string(),
                };
                Ok(Box::new(move |env| match rc(env)? {
                    Val::Str(s) => Ok(Val::Str(Cow::Owned(f(&s)))),
                    other => Err(not_string(&other)),
                }))
            }
            "split" => {
                arity(1)?;
                let rc = self.compile(recv)?;
                let sc = self.compile(&rest[0])?;
                Ok(Box::new(move |env| match (rc(env)?, sc(env)?) {
                    (Val::Str(s), Val::Str(sep)) => Ok(Val::List(Rc::new(
                        s.split(sep.as_ref())
                            .map(|p| Val::Str(Cow::Owned(p.to_string())))
                            .collect(),
                    ))),
                    (a, b) => Err(EvalError::new(format!(
                        "split() needs two strings, got {} and {}",
                        a.type_name(),
                        b.type_name()
                    ))),
                }))
            }
            _ => Err(self.err(pos, format!("unknown function `{name}`"))),
        }
    }

    /// `related('kind.kind')` from `resource`, or `asset.related('…')` from another asset.
    fn related(
        &mut self,
        pos: usize,
        target: Option<&Expr>,
        args: &[Expr],
    ) -> Result<Code, CelError> {
        let [path] = args else {
            return Err(self.err(
                pos,
                "related() takes one argument: a path such as 'uses' or '~attached_to'",
            ));
        };
        let Some(Const::Str(text)) = const_of(path) else {
            return Err(self.err(path.pos, "related() needs a string literal path"));
        };
        let steps = parse_path(&text).map_err(|m| self.err(path.pos, m))?;
        let start = target.map(|t| self.compile(t)).transpose()?;
        Ok(Box::new(move |env| {
            let Some(graph) = env.graph else {
                return Err(EvalError::new(
                    "related() needs the inventory's relationships, which are not available here",
                ));
            };
            let from = match &start {
                None => env.asset,
                Some(code) => match code(env)? {
                    Val::Asset(a) => a,
                    other => {
                        return Err(EvalError::new(format!(
                            "related() is called on an asset, not a {}",
                            other.type_name()
                        )));
                    }
                },
            };
            let Some(position) = graph.position(from) else {
                return Ok(Val::List(Rc::new(Vec::new())));
            };
            Ok(Val::List(Rc::new(
                graph
                    .follow(position, &steps)
                    .into_iter()
                    .map(Val::Asset)
                    .collect(),
            )))
        }))
    }

    fn conversion(&mut self, pos: usize, name: &str, args: &[Expr]) -> Result<Code, CelError> {
        if args.len() != 1 {
            return Err(self.err(pos, format!("{name}() takes exactly one argument")));
        }
        // Fold timestamp("...") and duration("...") literals, rejecting bad ones at load time.
        if let Some(Const::Str(s)) = const_of(&args[0]) {
            match name {
                "timestamp" => {
                    let t = parse_timestamp(&s).map_err(|m| self.err(args[0].pos, m))?;
                    return Ok(lit(Const::Timestamp(t)));
                }
                "duration" => {
                    let d = parse_duration(&s).map_err(|m| self.err(args[0].pos, m))?;
                    return Ok(lit(Const::Duration(d)));
                }
                _ => {}
            }
        }
        let ac = self.compile(&args[0])?;
        let f: for<'a> fn(Val<'a>) -> Result<Val<'a>, EvalError> = match name {
            "int" => to_int,
            "uint" => to_uint,
            "double" => to_double,
            "string" => |v| match v {
                Val::Str(s) => Ok(Val::Str(s)),
                Val::Null
                | Val::Bool(_)
                | Val::Int(_)
                | Val::Uint(_)
                | Val::Double(_)
                | Val::Timestamp(_)
                | Val::Duration(_) => Ok(Val::Str(Cow::Owned(v.to_display()))),
                other => Err(EvalError::new(format!(
                    "string() is not defined for a {}",
                    other.type_name()
                ))),
            },
            "bool" => |v| match v {
                Val::Bool(b) => Ok(Val::Bool(b)),
                Val::Str(s) => match s.as_ref() {
                    "true" | "True" | "TRUE" | "t" | "1" => Ok(Val::Bool(true)),
                    "false" | "False" | "FALSE" | "f" | "0" => Ok(Val::Bool(false)),
                    other => Err(EvalError::new(format!("bool() cannot convert {other:?}"))),
                },
                other => Err(EvalError::new(format!(
                    "bool() is not defined for a {}",
                    other.type_name()
                ))),
            },
            "timestamp" => |v| match v {
                Val::Str(s) => parse_timestamp(&s)
                    .map(Val::Timestamp)
                    .map_err(EvalError::new),
                Val::Timestamp(t) => Ok(Val::Timestamp(t)),
                Val::Int(secs) => DateTime::from_timestamp(secs, 0)
                    .map(Val::Timestamp)
                    .ok_or_else(|| EvalError::new("timestamp out of range")),
                other => Err(EvalError::new(format!(
                    "timestamp() is not defined for a {}",
                    other.type_name()
                ))),
            },
            "duration" => |v| match v {
                Val::Str(s) => parse_duration(&s)
                    .map(Val::Duration)
                    .map_err(EvalError::new),
                Val::Duration(d) => Ok(Val::Duration(d)),
                other => Err(EvalError::new(format!(
                    "duration() is not defined for a {}",
                    other.type_name()
                ))),
            },
            _ => identity, // dyn()
        };
        Ok(Box::new(move |env| f(ac(env)?)))
    }

    fn has(&mut self, arg: &Expr) -> Result<Code, CelError> {
        let ExprKind::Select(operand, field) = &arg.kind else {
            return Err(self.err(
                arg.pos,
                "has() needs a field selection such as has(resource.config.versioning)",
            ));
        };
        let field = field.clone();
        if let ExprKind::Ident(n) = &operand.kind
            && n == "resource"
            && self.lookup("resource").is_none()
        {
            if !ASSET_FIELDS.contains(&field.as_str()) {
                return Err(self.err(arg.pos, format!("`resource` has no field `{field}`")));
            }
            return Ok(lit(Const::Bool(true)));
        }
        let oc = self.compile(operand)?;
        Ok(Box::new(move |env| Ok(Val::Bool(oc(env)?.has(&field)?))))
    }

    fn comprehension(
        &mut self,
        pos: usize,
        target: &Expr,
        name: &str,
        args: &[Expr],
    ) -> Result<Code, CelError> {
        let ExprKind::Ident(var) = &args[0].kind else {
            return Err(self.err(
                args[0].pos,
                format!("the first argument of {name}() must be a variable name"),
            ));
        };
        if var == "resource" || var == "now" {
            return Err(self.err(
                args[0].pos,
                format!("`{var}` cannot be used as a loop variable"),
            ));
        }
        let range = self.compile(target)?;
        let slot = self.scopes.len();
        if slot >= MAX_SLOTS {
            return Err(self.err(
                pos,
                format!("more than {MAX_SLOTS} nested comprehensions are not supported"),
            ));
        }
        self.scopes.push((var.clone(), slot));
        let body: Result<Vec<Code>, CelError> = args[1..].iter().map(|a| self.compile(a)).collect();
        self.scopes.pop();
        let mut body = body?;
        Ok(match name {
            "exists" => {
                let p = body.remove(0);
                Box::new(move |env| {
                    let r = range(env)?;
                    let mut err = None;
                    for item in r.iter_items()? {
                        env.slots[slot] = item;
                        match p(env).and_then(|v| v.as_bool()) {
                            Ok(true) => return Ok(Val::Bool(true)),
                            Ok(false) => {}
                            Err(e) => err = Some(e),
                        }
                    }
                    err.map_or(Ok(Val::Bool(false)), Err)
                })
            }
            "all" => {
                let p = body.remove(0);
                Box::new(move |env| {
                    let r = range(env)?;
                    let mut err = None;
                    for item in r.iter_items()? {
                        env.slots[slot] = item;
                        match p(env).and_then(|v| v.as_bool()) {
                            Ok(false) => return Ok(Val::Bool(false)),
                            Ok(true) => {}
                            Err(e) => err = Some(e),
                        }
                    }
                    err.map_or(Ok(Val::Bool(true)), Err)
                })
            }
            "exists_one" => {
                let p = body.remove(0);
                Box::new(move |env| {
                    let r = range(env)?;
                    let mut count = 0usize;
                    for item in r.iter_items()? {
                        env.slots[slot] = item;
                        if p(env)?.as_bool()? {
                            count += 1;
                        }
                    }
                    Ok(Val::Bool(count == 1))
                })
            }
            "filter" => {
                let p = body.remove(0);
                Box::new(move |env| {
                    let r = range(env)?;
                    let mut out = Vec::new();
                    for item in r.iter_items()? {
                        env.slots[slot] = item.clone();
                        if p(env)?.as_bool()? {
                            out.push(item);
                        }
                    }
                    Ok(Val::List(Rc::new(out)))
                })
            }
            _ => {
                // map(v, e) or map(v, p, e)
                let (filter, transform) = if body.len() == 2 {
                    let t = body.remove(1);
                    (Some(body.remove(0)), t)
                } else {
                    (None, body.remove(0))
                };
                Box::new(move |env| {
                    let r = range(env)?;
                    let mut out = Vec::new();
                    for item in r.iter_items()? {
                        env.slots[slot] = item;
                        if let Some(f) = &filter
                            && !f(env)?.as_bool()?
                        {
                            continue;
                        }
                        out.push(transform(env)?);
                    }
                    Ok(Val::List(Rc::new(out)))
                })
            }
        })
    }
}

fn lit(c: Const) -> Code {
    Box::new(move |_| Ok(c.to_val()))
}

#[inline]
fn walk_json<'a>(mut j: &'a Json, keys: &[String]) -> Result<&'a Json, EvalError> {
    for k in keys {
        j = match j {
            Json::Object(m) => m.get(k.as_str()).ok_or_else(|| EvalError::no_such_key(k))?,
            other => {
                return Err(EvalError::new(format!(
                    "cannot select field `{k}` from a {}",
                    Val::from_json(other).type_name()
                )));
            }
        };
    }
    Ok(j)
}

/// Field selection along `keys`; an asset's `computed` properties come from the graph.
fn walk_in<'a>(
    mut v: Val<'a>,
    keys: &[String],
    graph: Option<&'a Graph<'a>>,
) -> Result<Val<'a>, EvalError> {
    for k in keys {
        v = match (&v, graph) {
            (Val::Asset(a), Some(g)) if k == "computed" => {
                Val::from_owned_json(g.computed(a).unwrap_or(Json::Null))
            }
            _ => v.select(k)?,
        };
    }
    Ok(v)
}

fn not_string(v: &Val<'_>) -> EvalError {
    EvalError::new(format!("expected a string, got {}", v.type_name()))
}

fn identity<'a>(v: Val<'a>) -> Result<Val<'a>, EvalError> {
    Ok(v)
}

fn to_int<'a>(v: Val<'a>) -> Result<Val<'a>, EvalError> {
    match v {
        Val::Int(i) => Ok(Val::Int(i)),
        Val::Uint(u) => i64::try_from(u)
            .map(Val::Int)
            .map_err(|_| EvalError::new("int() overflow")),
        Val::Double(d) if d.is_finite() && d >= i64::MIN as f64 && d < i64::MAX as f64 => {
            Ok(Val::Int(d.trunc() as i64))
        }
        Val::Str(s) => s
            .trim()
            .parse::<i64>()
            .map(Val::Int)
            .map_err(|_| EvalError::new(format!("int() cannot convert {s:?}"))),
        Val::Timestamp(t) => Ok(Val::Int(t.timestamp())),
        other => Err(EvalError::new(format!(
            "int() is not defined for a {}",
            other.type_name()
        ))),
    }
}

fn to_uint<'a>(v: Val<'a>) -> Result<Val<'a>, EvalError> {
    match v {
        Val::Uint(u) => Ok(Val::Uint(u)),
        Val::Int(i) => u64::try_from(i)
            .map(Val::Uint)
            .map_err(|_| EvalError::new("uint() of a negative number")),
        Val::Double(d) if d.is_finite() && d >= 0.0 && d < u64::MAX as f64 => {
            Ok(Val::Uint(d.trunc() as u64))
        }
        Val::Str(s) => s
            .trim()
            .parse::<u64>()
            .map(Val::Uint)
            .map_err(|_| EvalError::new(format!("uint() cannot convert {s:?}"))),
        other => Err(EvalError::new(format!(
            "uint() is not defined for a {}",
            other.type_name()
        ))),
    }
}

fn to_double<'a>(v: Val<'a>) -> Result<Val<'a>, EvalError> {
    match v {
        Val::Double(d) => Ok(Val::Double(d)),
        Val::Int(i) => Ok(Val::Double(i as f64)),
        Val::Uint(u) => Ok(Val::Double(u as f64)),
        Val::Str(s) => s
            .trim()
            .parse::<f64>()
            .map(Val::Double)
            .map_err(|_| EvalError::new(format!("double() cannot convert {s:?}"))),
        other => Err(EvalError::new(format!(
            "double() is not defined for a {}",
            other.type_name()
        ))),
    }
}

fn arith<'a>(op: BinOp, a: Val<'a>, b: Val<'a>) -> Result<Val<'a>, EvalError> {
    let overflow = || EvalError::new("integer overflow");
    Ok(match (op, a, b) {
        (BinOp::Add, Val::Int(x), Val::Int(y)) => Val::Int(x.checked_add(y).ok_or_else(overflow)?),
        (BinOp::Sub, Val::Int(x), Val::Int(y)) => Val::Int(x.checked_sub(y).ok_or_else(overflow)?),
        (BinOp::Mul, Val::Int(x), Val::Int(y)) => Val::Int(x.checked_mul(y).ok_or_else(overflow)?),
        (BinOp::Div, Val::Int(_), Val::Int(0)) | (BinOp::Rem, Val::Int(_), Val::Int(0)) => {
            return Err(EvalError::new("division by zero"));
        }
        (BinOp::Div, Val::Int(x), Val::Int(y)) => Val::Int(x.checked_div(y).ok_or_else(overflow)?),
        (BinOp::Rem, Val::Int(x), Val::Int(y)) => Val::Int(x.checked_rem(y).ok_or_else(overflow)?),
        (BinOp::Add, Val::Uint(x), Val::Uint(y)) => {
            Val::Uint(x.checked_add(y).ok_or_else(overflow)?)
        }
        (BinOp::Sub, Val::Uint(x), Val::Uint(y)) => {
            Val::Uint(x.checked_sub(y).ok_or_else(overflow)?)
        }
        (BinOp::Mul, Val::Uint(x), Val::Uint(y)) => {
            Val::Uint(x.checked_mul(y).ok_or_else(overflow)?)
        }
        (BinOp::Div | BinOp::Rem, Val::Uint(_), Val::Uint(0)) => {
            return Err(EvalError::new("division by zero"));
        }
        (BinOp::Div, Val::Uint(x), Val::Uint(y)) => Val::Uint(x / y),
        (BinOp::Rem, Val::Uint(x), Val::Uint(y)) => Val::Uint(x % y),
        (BinOp::Add, Val::Double(x), Val::Double(y)) => Val::Double(x + y),
        (BinOp::Sub, Val::Double(x), Val::Double(y)) => Val::Double(x - y),
        (BinOp::Mul, Val::Double(x), Val::Double(y)) => Val::Double(x * y),
        (BinOp::Div, Val::Double(x), Val::Double(y)) => Val::Double(x / y),
        (BinOp::Add, Val::Str(x), Val::Str(y)) => Val::Str(Cow::Owned(format!("{x}{y}"))),
        (
            BinOp::Add,
            x @ (Val::List(_) | Val::Json(Json::Array(_))),
            y @ (Val::List(_) | Val::Json(Json::Array(_))),
        ) => {
            let mut out: Vec<Val<'a>> = x.iter_items()?.collect();
            out.extend(y.iter_items()?);
            Val::List(Rc::new(out))
        }
        (BinOp::Sub, Val::Timestamp(x), Val::Timestamp(y)) => Val::Duration(x - y),
        (BinOp::Add, Val::Timestamp(t), Val::Duration(d))
        | (BinOp::Add, Val::Duration(d), Val::Timestamp(t)) => {
            Val::Timestamp(t.checked_add_signed(d).ok_or_else(overflow)?)
        }
        (BinOp::Sub, Val::Timestamp(t), Val::Duration(d)) => {
            Val::Timestamp(t.checked_sub_signed(d).ok_or_else(overflow)?)
        }
        (BinOp::Add, Val::Duration(x), Val::Duration(y)) => {
            Val::Duration(x.checked_add(&y).ok_or_else(overflow)?)
        }
        (BinOp::Sub, Val::Duration(x), Val::Duration(y)) => {
            Val::Duration(x.checked_sub(&y).ok_or_else(overflow)?)
        }
        (op, a, b) => {
            return Err(EvalError::new(format!(
                "no operator {} for {} and {}",
                match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    _ => "%",
                },
                a.type_name(),
                b.type_name()
            )));
        }
    })
}
