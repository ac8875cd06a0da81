//! A stable-toolchain fuzzer for the hot-list parsers: mutates the seed corpus in `fuzz/corpus/`
//! (bit flips, byte edits, truncations, splices across files, random bytes) for a fixed time or
//! number of inputs, and checks on every input what the `cargo fuzz` targets check, and more:
//! no panic, every error names the file and a line that exists, every entry is a usable plate,
//! and the parsed entries always build into an index.
//!
//! `cargo fuzz` needs a nightly toolchain; this runs anywhere:
//!
//! ```sh
//! cargo run --release --example fuzz_parsers -- --seconds 60 [--seed 1] [--iterations N]
//! ```
//!
//! A failing input is written to `fuzz/artifacts/stable/` and the run exits with status 1.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::Utc;
use patrol_alpr::hotlist::parse::{Format, ParseContext, parse};
use patrol_alpr::hotlist::{HotlistIndex, MatchConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The formats, the corpus folder of each, and the file name the parser is told.
const TARGETS: [(Format, &str, &str); 3] = [
    (Format::Clew, "parse_clew", "svs.tbl"),
    (Format::Ncic, "parse_ncic", "x.ncic"),
    (Format::Csv, "parse_csv", "x.csv"),
];

/// Bytes the mutations favour: the ones the formats give meaning to.
const INTERESTING: &[u8] = b"\n\r\t,;|\"*? 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\xef\xbb\xbf\x00\xff";

struct Options {
    seconds: f64,
    iterations: Option<u64>,
    seed: u64,
}

fn options() -> Result<Options, String> {
    let mut options = Options { seconds: 10.0, iterations: None, seed: 1 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => options.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--iterations" => options.iterations = Some(value()?.parse().map_err(|e| format!("--iterations: {e}"))?),
            "--seed" => options.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--bench" => {} // passed by `cargo test --all-targets`; nothing to do with it.
            other => return Err(format!("unknown option {other} (--seconds S, --iterations N, --seed N)")),
        }
    }
    Ok(options)
}

/// Every file of a corpus folder.
fn corpus(dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let listing = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = listing.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))).collect()
}

/// A mutated copy of one corpus file, sometimes spliced with another, sometimes pure noise.
fn mutate(rng: &mut ChaCha8Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.random_ratio(1, 50) {
        let len = rng.random_range(0..512);
        return (0..len).map(|_| rng.random()).collect();
    }
    let mut bytes = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..10) {
        let position = rng.random_range(0..=bytes.len());
        match rng.random_range(0..8) {
            0 if position < bytes.len() => bytes[position] ^= 1 << rng.random_range(0..8),
            1 if position < bytes.len() => bytes[position] = INTERESTING[rng.random_range(0..INTERESTING.len())],
            2 if position < bytes.len() => {
                let end = (position + rng.random_range(1..16)).min(bytes.len());
                bytes.drain(position..end);
            }
            3 => bytes.insert(position, INTERESTING[rng.random_range(0..INTERESTING.len())]),
            4 => bytes.truncate(position),
            5 => {
                // A stretch of another corpus file (or this one) pasted in.
                let other = &seeds[rng.random_range(0..seeds.len())];
                let at = rng.random_range(0..=other.len());
                let chunk: Vec<u8> = other[at..].iter().take(rng.random_range(1..80)).copied().collect();
                bytes.splice(position..position, chunk);
            }
            6 => {
                // A line repeated, as a duplicated record or header would be.
                let start = bytes[..position].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                let end = bytes[position..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| position + p + 1);
                let line = bytes[start..end].to_vec();
                bytes.splice(end..end, line);
            }
            _ => bytes.insert(position, rng.random()),
        }
    }
    bytes
}

/// Parses one input and checks every invariant; `Err` says which broke.
fn check(format: Format, name: &str, bytes: &[u8]) -> Result<(), String> {
    let ctx =
        ParseContext { source: name.into(), version: "fuzz".into(), list: None, now: Utc::now(), error_log: None };
    let parsed = catch_unwind(AssertUnwindSafe(|| parse(format, bytes, &ctx))).map_err(|_| "parser panicked")?;
    let lines = bytes.split(|&b| b == b'\n').count();
    for error in &parsed.errors {
        if error.file != name || error.line > lines {
            return Err(format!("error names a line that does not exist ({lines} lines): {error}"));
        }
        if !error.to_string().starts_with(&format!("{name}:{}: ", error.line)) {
            return Err(format!("error not in file:line: form: {error}"));
        }
    }
    for entry in &parsed.entries {
        let plate_ok = entry.is_wildcard() || (!entry.plate.is_empty() && entry.plate.len() <= 8);
        if !plate_ok || !(1..=9).contains(&entry.priority) {
            return Err(format!("unusable entry {entry:?}"));
        }
    }
    let built = catch_unwind(AssertUnwindSafe(|| HotlistIndex::build(MatchConfig::default(), &parsed.entries)))
        .map_err(|_| "index build panicked")?;
    built.map(|_| ()).map_err(|err| format!("parsed entries do not build into an index: {err}"))
}

fn save_failure(format: Format, bytes: &[u8], count: u64) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/artifacts/stable");
    let path = dir.join(format!("{}-{count}", format.as_str()));
    if let Err(err) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, bytes)) {
        eprintln!("cannot save the failing input to {}: {err}", path.display());
    }
    path
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("fuzz_parsers: {err}");
            return ExitCode::from(2);
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut seeds = Vec::new();
    for (format, folder, name) in TARGETS {
        match corpus(&root.join(folder)) {
            Ok(files) if !files.is_empty() => seeds.push((format, name, files)),
            Ok(_) => {
                eprintln!("fuzz_parsers: the corpus {folder} is empty");
                return ExitCode::from(2);
            }
            Err(err) => {
                eprintln!("fuzz_parsers: {err}");
                return ExitCode::from(2);
            }
        }
    }
    // Panics are caught and reported as failures; the default hook would print each one.
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let limit = Duration::from_secs_f64(options.seconds.max(0.0));
    let started = Instant::now();
    let mut counts = [0u64; 3];
    let mut total = 0u64;
    let mut failures = 0u64;
    while options.iterations.map_or(started.elapsed() < limit, |n| total < n) {
        let target = (total % 3) as usize;
        let (format, name, files) = &seeds[target];
        let bytes = mutate(&mut rng, files);
        if let Err(reason) = check(*format, name, &bytes) {
            failures += 1;
            let path = save_failure(*format, &bytes, total);
            eprintln!("FAILED {format} input {total}: {reason} (saved to {})", path.display());
        }
        counts[target] += 1;
        total += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "fuzz_parsers: {total} inputs in {seconds:.1} s (clew {}, ncic {}, csv {}), seed {}: {}",
        counts[0],
        counts[1],
        counts[2],
        options.seed,
        if failures == 0 { "no failure".to_owned() } else { format!("{failures} FAILURES") }
    );
    if failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
