//! criterion benchmarks of the hot-list index: building a synthetic list and matching reads
//! (three candidates each, OCR equivalence on) against it.
//!
//! `cargo bench --bench hotlist` measures 5,000,000 entries; in test mode (`cargo test
//! --all-targets`, which runs each bench once without `--bench`) a small list keeps it quick.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use patrol_alpr::hotlist::synthetic::{synthetic_index, synthetic_reads};
use patrol_alpr::hotlist::{MatchConfig, ReadCandidate, ReadQuery};

/// The list size: the target when benchmarking, small otherwise.
fn entries() -> usize {
    if std::env::args().any(|a| a == "--bench") { 5_000_000 } else { 10_000 }
}

fn build(c: &mut Criterion) {
    let n = entries();
    let mut group = c.benchmark_group("hotlist");
    group.sample_size(10);
    group.bench_function(format!("build_{n}"), |b| {
        b.iter(|| synthetic_index(n, 1, MatchConfig::default()).map(|(index, _)| black_box(index.len())))
    });
    group.finish();
}

fn matching(c: &mut Criterion) {
    let n = entries();
    let Ok((index, listed)) = synthetic_index(n, 1, MatchConfig::default()) else {
        eprintln!("cannot build the synthetic list");
        return;
    };
    let reads = synthetic_reads(65_536, &listed, 1);
    let now = Utc::now();
    let mut next = 0usize;
    c.bench_function(&format!("match_3_candidates_{n}"), |b| {
        b.iter(|| {
            let read = &reads[next % reads.len()];
            next += 1;
            let candidates = [
                ReadCandidate { text: &read[0], confidence: 0.9 },
                ReadCandidate { text: &read[1], confidence: 0.6 },
                ReadCandidate { text: &read[2], confidence: 0.3 },
            ];
            black_box(index.match_read(&ReadQuery { candidates: &candidates, state: Some("CA"), now }))
        })
    });
}

criterion_group!(benches, build, matching);
criterion_main!(benches);
