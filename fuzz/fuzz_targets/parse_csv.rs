//! Fuzz target: the Csv hot-list parser on arbitrary bytes must not panic; every error must
//! name a line that exists; reading the bytes through a small streaming buffer must give
//! exactly what parsing them in memory gives; and the entries must build into an index.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patrol_alpr_fuzz::check_parser;
use patrol_alpr_fuzz::hotlist::parse::Format;

fuzz_target!(|data: &[u8]| check_parser(Format::Csv, "x.csv", data));
