//! Format detection and gzip (`rampart_import::parse_bytes`): the first byte picks the file
//! name (extension hints), the rest is the file, plain or gzipped. Bit 7 of the first byte
//! gzips a plain input first, so that the decompressing path sees structured text too.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use rampart_fuzz::{LineRule, check_import, observed_at};

const NAMES: [&str; 8] = [
    "inventory.jsonl",
    "inventory.json",
    "inventory.ndjson.gz",
    "config.json.gz",
    "users.json",
    "export",
    "ÜNÏCODE-名前.JSONL",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(selector & 7)];
    let bytes: Vec<u8> = if selector & 0x80 != 0 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(rest).expect("gzip into a Vec");
        gz.finish().expect("gzip into a Vec")
    } else {
        rest.to_vec()
    };
    // Detection alone must agree with the full parse about whether the format is known.
    let detected = rampart_import::detect_format(name, &bytes);
    if let Err(e) = &detected {
        rampart_fuzz::check_error(&[name], 0, LineRule::Positive, e);
    }
    let result = rampart_import::parse_bytes(name, &bytes, observed_at());
    if detected.is_err() {
        assert!(result.is_err(), "undetected format parsed");
    }
    check_import(&[name], 0, LineRule::Positive, result);
});
