//! A compiler for the Common Expression Language (CEL), specialised for Rampart assets.
//!
//! `Program::compile` parses the source, resolves every name and function, folds literals
//! (including `timestamp("…")`, `duration("…")` and regular expressions) and produces a tree of
//! native closures. `Program::eval` then runs those closures against one asset, reading its JSON
//! configuration by reference.

mod compile;
mod lexer;
mod parser;
mod value;

use chrono::{DateTime, Utc};
use rampart_model::Asset;
use serde_json::Value as Json;

use crate::graph::Graph;
use compile::{Code, Compiler, Env};
use value::Val;

/// A compile-time error, positioned in the expression source (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct CelError {
    pub line: usize,
    pub column: usize,
    /// Byte offset in the expression source.
    pub offset: usize,
    pub message: String,
}

impl CelError {
    pub(crate) fn at(src: &str, offset: usize, message: impl Into<String>) -> CelError {
        let offset = offset.min(src.len());
        let before = &src[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = src[line_start..offset].chars().count() + 1;
        CelError {
            line,
            column,
            offset,
            message: message.into(),
        }
    }
}

/// A run-time evaluation error (a missing key, a type mismatch, an overflow…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
}

impl EvalError {
    pub(crate) fn new(message: impl Into<String>) -> EvalError {
        EvalError {
            message: message.into(),
        }
    }

    pub(crate) fn no_such_key(key: &str) -> EvalError {
        EvalError::new(format!("no such key: {key}"))
    }
}

/// A compiled CEL expression over the variables `resource` and `now`.
pub struct Program {
    code: Code,
    source: String,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("source", &self.source)
            .finish()
    }
}

impl Program {
    /// Parses and compiles `source`. Unsupported constructs, unknown names and functions, bad
    /// literals and invalid regular expressions are rejected here, with their position.
    pub fn compile(source: &str) -> Result<Program, CelError> {
        let ast = parser::parse(source)?;
        let mut compiler = Compiler::new(source);
        let code = compiler.compile(&ast)?;
        Ok(Program {
            code,
            source: source.to_string(),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression against one asset and returns the result as JSON.
    pub fn eval(&self, asset: &Asset, now: DateTime<Utc>) -> Result<Json, EvalError> {
        self.eval_in(asset, now, None)
    }

    /// Evaluates against one asset of an inventory whose relationships `related()` may follow.
    pub fn eval_in(
        &self,
        asset: &Asset,
        now: DateTime<Utc>,
        graph: Option<&Graph<'_>>,
    ) -> Result<Json, EvalError> {
        let mut env = Env {
            asset,
            now,
            graph,
            slots: empty_slots(),
        };
        (self.code)(&mut env).map(|v| v.to_json())
    }

    /// Evaluates the expression as a predicate; a non-bool result is an error.
    #[inline]
    pub fn eval_bool(&self, asset: &Asset, now: DateTime<Utc>) -> Result<bool, EvalError> {
        self.eval_bool_in(asset, now, None)
    }

    /// [`Program::eval_bool`] within an inventory whose relationships `related()` may follow.
    #[inline]
    pub fn eval_bool_in(
        &self,
        asset: &Asset,
        now: DateTime<Utc>,
        graph: Option<&Graph<'_>>,
    ) -> Result<bool, EvalError> {
        let mut env = Env {
            asset,
            now,
            graph,
            slots: empty_slots(),
        };
        match (self.code)(&mut env)? {
            Val::Bool(b) => Ok(b),
            other => Err(EvalError::new(format!(
                "the expression must evaluate to a bool, got {}",
                other.type_name()
            ))),
        }
    }
}

#[inline]
fn empty_slots<'a>() -> [Val<'a>; compile::MAX_SLOTS] {
    [const { Val::Null }; compile::MAX_SLOTS]
}

/// An inventory filter (`--where`, `?q=`): a CEL predicate over one asset.
#[derive(Debug)]
pub struct Filter {
    program: Program,
}

impl Filter {
    pub fn compile(expr: &str) -> Result<Filter, CelError> {
        Ok(Filter {
            program: Program::compile(expr)?,
        })
    }

    pub fn matches(&self, asset: &Asset, now: DateTime<Utc>) -> Result<bool, EvalError> {
        self.program.eval_bool(asset, now)
    }

    /// [`Filter::matches`] within an inventory, so that `related()` works.
    pub fn matches_in(
        &self,
        asset: &Asset,
        now: DateTime<Utc>,
        graph: &Graph<'_>,
    ) -> Result<bool, EvalError> {
        self.program.eval_bool_in(asset, now, Some(graph))
    }

    pub fn source(&self) -> &str {
        self.program.source()
    }
}

#[cfg(test)]
mod tests;
