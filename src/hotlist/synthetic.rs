//! Synthetic hot lists and reads for benchmarks (`hotlist bench`, `benches/hotlist.rs`):
//! seeded, so every run measures the same work.
//!
//! The entries look like a state extract: California-style plates (`9ABC123`) and other
//! shapes, several states and categories, an NCIC-style record number and a vehicle
//! description on each, so the index holds as much text as a real list does.

use chrono::{Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::entry::{Category, HotlistEntry, Vehicle};
use super::index::{HotlistIndex, IndexBuilder, IndexError, MatchConfig};

const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const STATES: [&str; 6] = ["CA", "CA", "CA", "NV", "AZ", "OR"];
const MAKES: [&str; 6] = ["HOND", "TOYT", "FORD", "CHEV", "NISS", "BMW"];
const COLOURS: [&str; 6] = ["BLK", "WHI", "SIL", "BLU", "RED", "GRY"];

/// A random plate: mostly California's `9ABC123` shape, the rest 5-8 random characters.
pub fn random_plate(rng: &mut impl Rng) -> String {
    let pick = |rng: &mut dyn rand::RngCore, set: &[u8]| char::from(set[rng.random_range(0..set.len())]);
    if rng.random_bool(0.7) {
        let mut plate = String::with_capacity(7);
        plate.push(pick(rng, DIGITS));
        for _ in 0..3 {
            plate.push(pick(rng, LETTERS));
        }
        for _ in 0..3 {
            plate.push(pick(rng, DIGITS));
        }
        plate
    } else {
        let len = rng.random_range(5..=8);
        (0..len).map(|_| pick(rng, ALNUM)).collect()
    }
}

/// A random entry with realistic text fields.
pub fn random_entry(rng: &mut impl Rng, serial: u64) -> HotlistEntry {
    let category = Category::ALL[rng.random_range(0..7)];
    // One list with mixed categories, like an NCIC extract.
    let mut entry = HotlistEntry::new(&random_plate(rng), category, "ncic");
    entry.state = Some(STATES[rng.random_range(0..STATES.len())].to_owned());
    entry.vehicle = Vehicle {
        year: Some(rng.random_range(1995..=2026)),
        make: MAKES[rng.random_range(0..MAKES.len())].to_owned(),
        model: String::new(),
        colour: COLOURS[rng.random_range(0..COLOURS.len())].to_owned(),
    };
    entry.record_number = format!("V{serial:09}");
    entry.entry_date = NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(rng.random_range(0..330))));
    if rng.random_bool(0.05) {
        entry.expires = Some(Utc::now() + Duration::days(rng.random_range(1..30)));
    }
    entry.source = "synthetic".into();
    entry.version = "bench".into();
    entry
}

/// A synthetic list of `entries` entries built into an index, and every 1000th plate (to
/// make reads that hit).
pub fn synthetic_index(
    entries: usize,
    seed: u64,
    config: MatchConfig,
) -> Result<(HotlistIndex, Vec<String>), IndexError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut builder = IndexBuilder::with_capacity(config, entries);
    let mut sample = Vec::with_capacity(entries / 1000 + 1);
    for serial in 0..entries {
        let entry = random_entry(&mut rng, serial as u64);
        if serial % 1000 == 0 {
            sample.push(entry.plate.clone());
        }
        builder.push(&entry)?;
    }
    Ok((builder.build(), sample))
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
