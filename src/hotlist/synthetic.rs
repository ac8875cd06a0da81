//! Synthetic hot lists and reads for benchmarks (`hotlist bench`, `benches/hotlist.rs`):
//! seeded, so every run measures the same work.
//!
//! The entries look like a state extract: California-style plates (`9ABC123`) and other
//! shapes, several states and categories, an NCIC-style record number and a vehicle
//! description on each, so the index holds as much text as a real list does.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::entry::{Category, HotlistEntry};
use super::index::{HotlistIndex, IndexBuilder, IndexError, MatchConfig};

const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const STATES: [&str; 6] = ["CA", "CA", "CA", "NV", "AZ", "OR"];
const MAKES: [&str; 6] = ["HOND", "TOYT", "FORD", "CHEV", "NISS", "BMW"];
const COLOURS: [&str; 6] = ["BLK", "WHI", "SIL", "BLU", "RED", "GRY"];

/// A random plate: mostly California's `9ABC123` shape, the rest 5-8 random characters.
pub fn random_plate(rng: &mut impl Rng) -> String {
    let mut plate = String::with_capacity(8);
    fill_random_plate(rng, &mut plate);
    plate
}

/// Writes a random plate into `plate` (cleared first), reusing its buffer.
fn fill_random_plate(rng: &mut impl Rng, plate: &mut String) {
    let pick = |rng: &mut dyn rand::RngCore, set: &[u8]| char::from(set[rng.random_range(0..set.len())]);
    plate.clear();
    if rng.random_bool(0.7) {
        plate.push(pick(rng, DIGITS));
        for _ in 0..3 {
            plate.push(pick(rng, LETTERS));
        }
        for _ in 0..3 {
            plate.push(pick(rng, DIGITS));
        }
    } else {
        let len = rng.random_range(5..=8);
        for _ in 0..len {
            plate.push(pick(rng, ALNUM));
        }
    }
}

/// A random entry with realistic text fields.
pub fn random_entry(rng: &mut impl Rng, serial: u64) -> HotlistEntry {
    let mut entry = HotlistEntry::new("", Category::StolenVehicle, "ncic");
    fill_random_entry(rng, serial, Utc::now(), &mut entry);
    entry
}

/// Overwrites `entry` with a random one, reusing its strings' buffers: generating millions
/// of entries then allocates nothing per entry, as a streaming parser would not.
fn fill_random_entry(rng: &mut impl Rng, serial: u64, now: DateTime<Utc>, entry: &mut HotlistEntry) {
    let replace = |field: &mut String, text: &str| {
        field.clear();
        field.push_str(text);
    };
    fill_random_plate(rng, &mut entry.plate);
    entry.category = Category::ALL[rng.random_range(0..7)];
    entry.priority = entry.category.default_priority();
    // One list with mixed categories, like an NCIC extract.
    replace(&mut entry.list, "ncic");
    let state = STATES[rng.random_range(0..STATES.len())];
    match &mut entry.state {
        Some(field) => replace(field, state),
        None => entry.state = Some(state.to_owned()),
    }
    entry.vehicle.year = Some(rng.random_range(1995..=2026));
    replace(&mut entry.vehicle.make, MAKES[rng.random_range(0..MAKES.len())]);
    entry.vehicle.model.clear();
    replace(&mut entry.vehicle.colour, COLOURS[rng.random_range(0..COLOURS.len())]);
    // `V` and the serial as nine digits, without the formatting machinery.
    entry.record_number.clear();
    entry.record_number.push('V');
    let digits = serial % 1_000_000_000;
    for power in (0..9).rev() {
        entry.record_number.push(char::from(b'0' + (digits / 10u64.pow(power) % 10) as u8));
    }
    entry.reason.clear();
    entry.entry_date = NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(rng.random_range(0..330))));
    entry.expires = rng.random_bool(0.05).then(|| now + Duration::days(rng.random_range(1..30)));
    entry.covert = false;
    replace(&mut entry.source, "synthetic");
    replace(&mut entry.version, "bench");
}

/// Entries generated per chunk: each chunk has its own seed, so the list is the same however
/// many threads generate it.
const CHUNK_ENTRIES: usize = 1 << 16;

/// One chunk of the synthetic list, packed into its own builder, and its sample plates.
fn synthetic_chunk(
    chunk: usize,
    entries: usize,
    seed: u64,
    config: &MatchConfig,
    now: DateTime<Utc>,
) -> Result<(IndexBuilder, Vec<String>), IndexError> {
    let first = chunk * CHUNK_ENTRIES;
    let count = CHUNK_ENTRIES.min(entries.saturating_sub(first));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(chunk as u64);
    let mut builder = IndexBuilder::with_capacity(config.clone(), count);
    let mut sample = Vec::with_capacity(count / 1000 + 1);
    let mut entry = HotlistEntry::new("", Category::StolenVehicle, "ncic");
    for serial in first..first + count {
        fill_random_entry(&mut rng, serial as u64, now, &mut entry);
        if serial % 1000 == 0 {
            sample.push(entry.plate.clone());
        }
        builder.push(&entry)?;
    }
    Ok((builder, sample))
}

/// A synthetic list of `entries` entries built into an index, and every 1000th plate (to
/// make reads that hit).
pub fn synthetic_index(
    entries: usize,
    seed: u64,
    config: MatchConfig,
) -> Result<(HotlistIndex, Vec<String>), IndexError> {
    let (builder, sample) = synthetic_builder(entries, seed, config)?;
    Ok((builder.build(), sample))
}

/// A synthetic list of `entries` entries packed into a builder (not yet sorted and indexed),
/// and every 1000th plate.
///
/// Chunks are generated on one named thread per core and handed over a bounded channel to
/// the calling thread, which appends them to the index builder as they come (the order of
/// entries inside the index does not depend on the order they arrive in).
pub fn synthetic_builder(
    entries: usize,
    seed: u64,
    config: MatchConfig,
) -> Result<(IndexBuilder, Vec<String>), IndexError> {
    let chunks = entries.div_ceil(CHUNK_ENTRIES);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(chunks).max(1);
    let now = Utc::now();
    let mut builder = IndexBuilder::with_capacity(config.clone(), entries);
    let mut samples: Vec<(usize, Vec<String>)> = Vec::with_capacity(chunks);
    let next_chunk = AtomicUsize::new(0);
    let (sender, receiver) = crossbeam_channel::bounded(threads);
    std::thread::scope(|scope| -> Result<(), IndexError> {
        let mut workers = 0;
        for worker in 0..threads {
            let (sender, next_chunk, config) = (sender.clone(), &next_chunk, &config);
            let work = move || {
                loop {
                    let chunk = next_chunk.fetch_add(1, Ordering::Relaxed);
                    if chunk >= chunks {
                        break;
                    }
                    let part = synthetic_chunk(chunk, entries, seed, config, now);
                    // The receiver is gone only when the builder failed: stop.
                    if sender.send((chunk, part)).is_err() {
                        break;
                    }
                }
            };
            if std::thread::Builder::new().name(format!("hotlist-synth-{worker}")).spawn_scoped(scope, work).is_ok() {
                workers += 1;
            }
        }
        drop(sender);
        if workers == 0 {
            // No thread could be started: generate here.
            for chunk in 0..chunks {
                let (part, sample) = synthetic_chunk(chunk, entries, seed, &config, now)?;
                builder.append(part)?;
                samples.push((chunk, sample));
            }
            return Ok(());
        }
        for (chunk, part) in receiver {
            let (part, sample) = part?;
            builder.append(part)?;
            samples.push((chunk, sample));
        }
        Ok(())
    })?;
    samples.sort_by_key(|(chunk, _)| *chunk);
    let sample = samples.into_iter().flat_map(|(_, s)| s).collect();
    Ok((builder, sample))
}

/// Reads to match, each with three candidate readings as a recognizer gives them: one read in
/// ten is of a listed plate (its candidates: the plate with an OCR-equivalent substitution,
/// the plate itself, a random plate); the others are random plates with two variants.
pub fn synthetic_reads(count: usize, listed: &[String], seed: u64) -> Vec<[String; 3]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let swap = |text: &str, rng: &mut ChaCha8Rng| -> String {
        let mut bytes = text.as_bytes().to_vec();
        let position = rng.random_range(0..bytes.len());
        bytes[position] = match bytes[position] {
            b'0' => b'O',
            b'O' => b'0',
            b'1' => b'I',
            b'I' => b'1',
            b'8' => b'B',
            b'B' => b'8',
            b'5' => b'S',
            b'S' => b'5',
            other => other,
        };
        String::from_utf8(bytes).unwrap_or_default()
    };
    (0..count)
        .map(|_| {
            if !listed.is_empty() && rng.random_bool(0.1) {
                let plate = &listed[rng.random_range(0..listed.len())];
                [swap(plate, &mut rng), plate.clone(), random_plate(&mut rng)]
            } else {
                let plate = random_plate(&mut rng);
                [plate.clone(), swap(&plate, &mut rng), random_plate(&mut rng)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotlist::{ReadCandidate, ReadQuery};

    #[test]
    fn synthetic_lists_are_seeded_and_listed_plates_hit() {
        let (index, sample) = synthetic_index(3000, 7, MatchConfig::default()).unwrap();
        let (_, again) = synthetic_index(3000, 7, MatchConfig::default()).unwrap();
        assert_eq!(sample, again);
        assert_eq!(index.len(), 3000);
        for plate in &sample {
            let candidates = [ReadCandidate { text: plate, confidence: 0.9 }];
            let hit = index.match_read(&ReadQuery { candidates: &candidates, state: None, now: Utc::now() });
            // An entry may have expired between building and matching only if it expires
            // within days: none does within this test.
            assert!(hit.is_some(), "{plate}");
        }
        let reads = synthetic_reads(100, &sample, 7);
        assert_eq!(reads.len(), 100);
        assert!(reads.iter().all(|r| r.iter().all(|c| !c.is_empty())));
    }
}
