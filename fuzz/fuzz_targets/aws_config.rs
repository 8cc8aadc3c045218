//! The AWS Config configuration snapshot parser (`rampart_import::parse_aws_config`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_fuzz::{LineRule, check_import, line_count, observed_at};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let result = rampart_import::parse_aws_config("config.json", text, observed_at());
    check_import(&["config.json"], line_count(text), LineRule::InText, result);
});
