//! The CEL compiler and evaluator (`rampart_rules::Program`).
//!
//! A compile error must point inside the expression (a byte offset on a character boundary,
//! at most the length; line and column consistent with it). A compiled program evaluates
//! against assets of a small fixed inventory, with and without the relationship graph, without
//! panicking, and gives the same answer twice.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rampart_fuzz::{fixture_inventory, observed_at};
use rampart_model::Inventory;
use rampart_rules::{Graph, Program};

fn inventory() -> &'static Inventory {
    static INV: OnceLock<Inventory> = OnceLock::new();
    INV.get_or_init(fixture_inventory)
}

fn graph() -> &'static Graph<'static> {
    static GRAPH: OnceLock<Graph<'static>> = OnceLock::new();
    GRAPH.get_or_init(|| Graph::build(inventory()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(source) = std::str::from_utf8(rest) else {
        return;
    };
    match Program::compile(source) {
        Err(e) => {
            assert!(
                e.offset <= source.len(),
                "offset {} past the end ({} bytes): {e}",
                e.offset,
                source.len()
            );
            assert!(
                source.is_char_boundary(e.offset),
                "offset {} inside a character: {e}",
                e.offset
            );
            let before = &source[..e.offset];
            assert_eq!(e.line, before.matches('\n').count() + 1, "line of {e}");
            assert!(e.column >= 1, "column 0: {e}");
            assert!(!e.message.is_empty(), "empty message at {e}");
            let _ = e.to_string();
        }
        Ok(program) => {
            assert_eq!(program.source(), source);
            let inv = inventory();
            let asset = &inv.assets[usize::from(selector) % inv.assets.len()];
            let now = observed_at();
            let alone = program.eval(asset, now);
            let again = program.eval(asset, now);
            assert_eq!(alone, again, "evaluation is not deterministic");
            let in_graph = program.eval_in(asset, now, Some(graph()));
            if let (Ok(a), Ok(b)) = (&alone, &in_graph) {
                // Without a graph only related() can differ, and it errors then.
                assert_eq!(a, b, "the graph changed a result that did not use it");
            }
            let _ = program.eval_bool_in(asset, now, Some(graph()));
        }
    }
});
