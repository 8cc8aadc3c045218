//! The Azure parser (`rampart_import::parse_azure`): Resource Graph rows and Microsoft Graph
//! (Entra ID) pages. Its errors give the record index, not a line: only checked to be >= 1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_fuzz::{LineRule, check_import, line_count, observed_at};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let result = rampart_import::parse_azure("azure.json", text, observed_at());
    check_import(
        &["azure.json"],
        line_count(text),
        LineRule::Positive,
        result,
    );
});
