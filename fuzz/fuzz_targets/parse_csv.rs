//! Fuzz target: the Csv hot-list parser on arbitrary bytes must not panic, and every error
//! must name a line that exists.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patrol_alpr::hotlist::parse::{Format, ParseContext, parse};

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext { source: "x.csv".into(), version: "fuzz".into(), list: None, now: chrono::Utc::now() };
    let parsed = parse(Format::Csv, data, &ctx);
    let lines = data.split(|&b| b == b'\n').count();
    for error in &parsed.errors {
        assert!(error.line <= lines, "{error}");
    }
});
