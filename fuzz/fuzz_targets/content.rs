//! The content loader ("config file": the control and framework YAML users write), through
//! `rampart_rules::Catalog::from_sources` on one file, without the built-in content.
//!
//! Every issue names the file and, when positioned, a line within it (CEL errors are mapped
//! into the YAML); a file that loads has its fixtures evaluated without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_fuzz::yaml_line_count;
use rampart_rules::Catalog;

const NAME: &str = "controls/fuzz.yaml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Catalog::from_sources(&[(NAME, text)]) {
        Err(e) => {
            assert!(!e.issues.is_empty(), "an error without issues");
            for issue in &e.issues {
                assert_eq!(issue.file, NAME, "{issue}");
                if let Some(line) = issue.line {
                    assert!(line >= 1, "line 0: {issue}");
                    assert!(
                        line <= yaml_line_count(text) + 1,
                        "line {line} past the end ({} lines): {issue}",
                        yaml_line_count(text)
                    );
                }
                if let Some(column) = issue.column {
                    assert!(column >= 1, "column 0: {issue}");
                }
                let _ = issue.to_string();
            }
            let _ = e.to_string();
        }
        Ok(catalog) => {
            let _ = catalog.check_fixtures();
            let _ = catalog.cross_reference_index();
        }
    }
});
