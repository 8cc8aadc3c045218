//! Embeds the built-in content (`content/` at the workspace root) into the binary.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, exts, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
        {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let content = manifest.join("../../content");
    let content = content.canonicalize().unwrap_or(content);
    println!("cargo:rerun-if-changed={}", content.display());

    let mut code = String::new();
    for (name, sub, exts) in [
        ("CONTROLS", "controls", &["yaml", "yml"][..]),
        ("FRAMEWORKS", "frameworks", &["yaml", "yml"][..]),
    ] {
        let mut files = Vec::new();
        collect(&content.join(sub), exts, &mut files);
        files.sort();
        let _ = writeln!(code, "pub static {name}: &[(&str, &str)] = &[");
        for f in &files {
            let rel = f.strip_prefix(&content).unwrap_or(f);
            let _ = writeln!(
                code,
                "    ({:?}, include_str!({:?})),",
                rel.to_string_lossy().replace('\\', "/"),
                f.to_string_lossy()
            );
        }
        let _ = writeln!(code, "];");
    }
    let sample = content.join("samples/demo.jsonl");
    if sample.exists() {
        let _ = writeln!(
            code,
            "pub static SAMPLE_INVENTORY: &str = include_str!({:?});",
            sample.to_string_lossy()
        );
    } else {
        let _ = writeln!(code, "pub static SAMPLE_INVENTORY: &str = \"\";");
    }
    // The coverage documents list the reference controls not covered yet, one per provider.
    let mut includes = Vec::new();
    for name in ["coverage.md", "coverage-gcp.md", "coverage-azure.md"] {
        let doc = manifest.join("../../docs").join(name);
        println!("cargo:rerun-if-changed={}", doc.display());
        if doc.exists() {
            includes.push(format!(
                "include_str!({:?})",
                doc.canonicalize().unwrap_or(doc).to_string_lossy()
            ));
        }
    }
    if includes.is_empty() {
        let _ = writeln!(code, "pub static COVERAGE_DOC: &str = \"\";");
    } else {
        let _ = writeln!(
            code,
            "pub static COVERAGE_DOC: &str = concat!({}, \"\\n\");",
            includes.join(", \"\\n\", ")
        );
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin.rs");
    std::fs::write(out, code).expect("write builtin.rs");
}
