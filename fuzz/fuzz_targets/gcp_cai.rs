//! The Cloud Asset Inventory parser: one file (`parse_gcp_assets`) or, when the input holds a
//! NUL byte, two files parsed together (`parse_gcp_files`: RESOURCE and IAM_POLICY exports of
//! the same assets merge).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_fuzz::{LineRule, check_import, line_count, observed_at};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.split_once('\0') {
        None => {
            let result = rampart_import::parse_gcp_assets("export.jsonl", text, observed_at());
            check_import(
                &["export.jsonl"],
                line_count(text),
                LineRule::InText,
                result,
            );
        }
        Some((a, b)) => {
            let files = [("resources.jsonl", a), ("iam.jsonl", b)];
            let result = rampart_import::parse_gcp_files(&files, observed_at());
            let lines = line_count(a).max(line_count(b));
            check_import(
                &["resources.jsonl", "iam.jsonl"],
                lines,
                LineRule::InText,
                result,
            );
        }
    }
});
