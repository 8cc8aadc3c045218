//! Content compiled into the binary from the workspace's `content/` directory.

use crate::loader::SourceFile;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
}

/// The bundled demo inventory (Rampart JSON-lines snapshot), `content/samples/demo.jsonl`.
pub fn sample_inventory() -> &'static str {
    embedded::SAMPLE_INVENTORY
}

/// `docs/coverage.md`, `docs/coverage-gcp.md` and `docs/coverage-azure.md` joined: they list the
/// reference controls not covered yet and why.
pub fn coverage_doc() -> &'static str {
    embedded::COVERAGE_DOC
}

/// Built-in framework and control files, frameworks first (controls refer to them).
pub(crate) fn files() -> Vec<SourceFile> {
    embedded::FRAMEWORKS
        .iter()
        .chain(embedded::CONTROLS.iter())
        .map(|(path, text)| SourceFile {
            name: format!("builtin:{path}"),
            text: (*text).to_string(),
        })
        .collect()
}

/// Paths of the built-in content files (for listings and tests).
pub fn file_names() -> Vec<&'static str> {
    embedded::FRAMEWORKS
        .iter()
        .chain(embedded::CONTROLS.iter())
        .map(|(p, _)| *p)
        .collect()
}
