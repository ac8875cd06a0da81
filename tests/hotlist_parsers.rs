//! Robustness of the hot-list parsers: random bytes and mutated good lines never panic, every
//! error names its file and a line that exists, and the demo list loads cleanly.
//!
//! This is the stable-toolchain companion of the `cargo fuzz` targets in `fuzz/`: seeded and
//! bounded, so it runs in every `cargo test`.

// A failed unwrap is a failed test, with its message: that is what these tests want.
#![allow(clippy::unwrap_used)]

use chrono::Utc;
use patrol_alpr::hotlist::parse::{Format, ParseContext, ParsedFile, parse};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEEDS: [(Format, &str); 3] = [
    (Format::Clew, "SVS HEADER\n7ABC123 CA1920261120 BLK HOND\n4XYZ55  CA  20261001\nTOTAL RECORD 2\n"),
    (
        Format::Ncic,
        "AA123456789DEMO001 CA2018TOYTCAMWHI20261127CHILD ABDUCTION\nVV987654321 7ABC123CA2019HONDCIVBLK20261120\n",
    ),
    (
        Format::Csv,
        "\u{feff}plate;state;category;priority;expires;reason\n\"DEMO001\";CA;bolo;2;2026-12-31;\"a; b\"\n7DMO?23;;amber;1;;x\n",
    ),
];

fn ctx(name: &str) -> ParseContext {
    ParseContext { source: name.into(), version: "t".into(), list: None, now: Utc::now(), error_log: None }
}

/// Parses and checks the invariants every parse must keep.
fn parse_and_check(format: Format, bytes: &[u8]) -> ParsedFile {
    let name = match format {
        Format::Clew => "svs.tbl",
        Format::Ncic => "x.ncic",
        Format::Csv => "x.csv",
    };
    let parsed = parse(format, bytes, &ctx(name));
    let lines = bytes.split(|&b| b == b'\n').count();
    for error in &parsed.errors {
        assert_eq!(error.file, name);
        assert!(error.line <= lines, "{error} names a line past the end ({lines} lines)");
        assert!(error.to_string().starts_with(&format!("{name}:{}: ", error.line)));
    }
    for entry in &parsed.entries {
        assert!(!entry.plate.is_empty() && entry.plate.len() <= 8 || entry.is_wildcard(), "{entry:?}");
        assert!((1..=9).contains(&entry.priority));
    }
    parsed
}

fn mutate(rng: &mut ChaCha8Rng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..rng.random_range(1..8) {
        let position = rng.random_range(0..=bytes.len());
        match rng.random_range(0..5) {
            0 if position < bytes.len() => bytes[position] = rng.random(),
            1 if position < bytes.len() => {
                bytes.remove(position);
            }
            2 => bytes.insert(position, rng.random()),
            3 => bytes.truncate(position),
            _ => {
                let at = rng.random_range(0..=bytes.len());
                let chunk: Vec<u8> = bytes[at..].iter().take(20).copied().collect();
                bytes.splice(position..position, chunk);
            }
        }
    }
    bytes
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(20261128);
    for (format, seed) in SEEDS {
        assert!(parse_and_check(format, seed.as_bytes()).errors.is_empty(), "seed of {format} must be clean");
        for _ in 0..3000 {
            let bytes = mutate(&mut rng, seed.as_bytes());
            parse_and_check(format, &bytes);
        }
        for _ in 0..300 {
            let len = rng.random_range(0..400);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            parse_and_check(format, &bytes);
        }
    }
}

#[test]
fn demo_list_is_clean_and_obviously_fictitious() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-hotlist.csv");
    let bytes = std::fs::read(path).unwrap();
    let parsed = parse_and_check(Format::Csv, &bytes);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.entries.len(), 9);
    for entry in &parsed.entries {
        assert!(["DEMO", "DMO", "TEST"].iter().any(|mark| entry.plate.contains(mark)), "{}", entry.plate);
        assert!(entry.reason.starts_with("DEMO"), "{}", entry.reason);
    }
}
