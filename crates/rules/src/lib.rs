//! Rampart's rules engine.
//!
//! - [`cel`]: a compiler from CEL expressions to native closures over an asset.
//! - [`Catalog`]: controls and frameworks loaded from YAML (built-in content is compiled into the
//!   binary; users add directories), validated strictly, with every error positioned.
//! - [`score`]: framework scores from evaluation results.
//!
//! Invariant: evaluation is pure — no I/O, no clock (the caller passes `now`).

mod access;
pub mod builtin;
mod catalog;
pub mod cel;
mod computed;
pub mod coverage;
mod exposure;
pub mod graph;
mod loader;
pub mod score;
mod state;

pub use catalog::{
    CUSTOM_SOURCE, Catalog, CompiledControl, CustomControlDef, FixtureProblem, fixture_now,
};
pub use cel::{CelError, EvalError, Filter, Program};
pub use graph::Graph;
pub use loader::{LoadError, LoadIssue};
pub use state::{CommitStats, GraphState};
