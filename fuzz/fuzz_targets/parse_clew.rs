//! Fuzz target: the Clew hot-list parser on arbitrary bytes must not panic; every error must
//! name a line that exists; reading the bytes through a small streaming buffer must give
//! exactly what parsing them in memory gives; and the entries must build into an index.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patrol_alpr_fuzz::hotlist::parse::{Format, ParseContext, parse, parse_reader};
use patrol_alpr_fuzz::hotlist::{HotlistIndex, MatchConfig};

fuzz_target!(|data: &[u8]| {
    let now = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
    let ctx = ParseContext { source: "svs.tbl".into(), version: "fuzz".into(), list: None, now };
    let parsed = parse(Format::Clew, data, &ctx);
    let lines = data.split(|&b| b == b'\n').count();
    for error in &parsed.errors {
        assert!(error.line <= lines, "{error}");
    }
    // A 7-byte buffer cuts lines, `\r\n` and the UTF-8 byte-order mark across reads.
    let streamed = parse_reader(Format::Clew, std::io::BufReader::with_capacity(7, data), &ctx)
        .unwrap_or_else(|failure| panic!("a slice cannot fail to read: {failure}"));
    assert_eq!(streamed.entries, parsed.entries);
    assert_eq!(streamed.errors, parsed.errors);
    assert_eq!(streamed.rejected, parsed.rejected);
    if let Err(err) = HotlistIndex::build(MatchConfig::default(), &parsed.entries) {
        panic!("parsed entries do not build into an index: {err}");
    }
});
