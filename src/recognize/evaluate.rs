//! Measuring recognition against ground truth: OpenALPR-format truth files, per-plate
//! scoring, and the summary the `bench` command prints.
//!
//! Scoring rules (the `bench` contract): for each truth plate, the read whose box best
//! overlaps the truth box is *the* read; `exact` when its top-1 text equals the truth (both
//! uppercase A-Z0-9, no other folding), `top5` when the truth is among its first five
//! candidates, `detected` when its IoU with the truth box is at least 0.3. A read that is no
//! truth plate's read and overlaps no truth box with IoU >= 0.3 is a false plate.
//!
//! Hits, the figure an officer lives with ([`HitJudge`]): a truth plate is `hit` when the
//! hot-list matcher, with the default matching rules (OCR-equivalent characters, every
//! candidate), would match its read against a list holding the truth plate. A false hit is a
//! read that matches an entry of a random 1M-entry synthetic list whose plate is none of the
//! image's truth plates: the guard against matching too loosely.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{BBox, Candidate, PlateRead};
use crate::hotlist::{Category, HotlistEntry, HotlistIndex, MatchConfig, ReadCandidate, ReadQuery};
use crate::plate::normalize;

/// IoU at which a read counts as finding a truth plate.
pub const DETECTED_IOU: f32 = 0.3;

/// One labelled plate.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthPlate {
    /// The plate's box.
    pub bbox: BBox,
    /// Its text, normalized.
    pub text: String,
}

/// One image and its labelled plates.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthImage {
    /// The image file.
    pub image: PathBuf,
    /// Its plates.
    pub plates: Vec<TruthPlate>,
}

/// Parses one OpenALPR truth line: `file<TAB>x<TAB>y<TAB>w<TAB>h<TAB>PLATE`.
pub fn parse_truth_line(line: &str) -> Result<(String, TruthPlate), String> {
    let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
    let [file, x, y, w, h, plate, ..] = fields.as_slice() else {
        return Err(format!("expected 6 tab-separated fields, found {}", fields.len()));
    };
    let num = |s: &str, what: &str| s.parse::<f32>().map_err(|_| format!("{what} {s:?} is not a number"));
    let bbox = BBox { x: num(x, "x")?, y: num(y, "y")?, w: num(w, "w")?, h: num(h, "h")? };
    if bbox.w <= 0.0 || bbox.h <= 0.0 {
        return Err("box has no area".into());
    }
    let text = normalize(plate);
    if text.is_empty() {
        return Err("plate text is empty".into());
    }
    Ok(((*file).to_owned(), TruthPlate { bbox, text }))
}

/// Finds every `NAME.txt` in `dir` with an image beside it. Returns the images (sorted by
/// name) and the problems found (`file:line: reason`), which do not stop the rest.
pub fn load_truth_dir(dir: &Path) -> std::io::Result<(Vec<TruthImage>, Vec<String>)> {
    let mut txts: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    txts.sort();
    let mut images = Vec::new();
    let mut problems = Vec::new();
    for txt in txts {
        let text = match std::fs::read_to_string(&txt) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{}: {e}", txt.display()));
                continue;
            }
        };
        let mut image: Option<PathBuf> = None;
        let mut plates = Vec::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match parse_truth_line(line) {
                Ok((file, plate)) => {
                    image.get_or_insert_with(|| dir.join(file));
                    plates.push(plate);
                }
                Err(reason) => problems.push(format!("{}:{}: {reason}", txt.display(), n + 1)),
            }
        }
        match image {
            Some(image) if image.is_file() => images.push(TruthImage { image, plates }),
            Some(image) => problems.push(format!("{}: image {} not found", txt.display(), image.display())),
            None => {}
        }
    }
    Ok((images, problems))
}

/// How one truth plate fared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlateOutcome {
    /// The truth text.
    pub truth: String,
    /// The read's top-1 text, if any read overlapped the truth box.
    pub read: Option<String>,
    /// Top-1 equals truth.
    pub exact: bool,
    /// Truth among the first five candidates.
    pub top5: bool,
    /// A read overlaps the truth box with IoU >= 0.3.
    pub detected: bool,
    /// The hot-list matcher would raise a hit on this plate from its read ([`HitJudge`]).
    pub hit: bool,
}

/// Judges reads as the hot-list matcher would: does a listed plate raise its hit, and does a
/// read match an entry it should not.
#[derive(Debug)]
pub struct HitJudge {
    listed: HotlistIndex,
    decoys: HotlistIndex,
}

/// Entries of the synthetic list false hits are counted against.
pub const DECOY_ENTRIES: usize = 1_000_000;
/// Its seed: every run measures against the same list.
const DECOY_SEED: u64 = 0x00de_c0de;

impl HitJudge {
    /// A judge whose list holds `plates` (the truth) and whose decoy list holds `decoys`
    /// random entries, both matched with `config`. Plates that are no valid list plate are
    /// left out (they can then raise no hit).
    pub fn new<'a>(
        plates: impl IntoIterator<Item = &'a str>,
        decoys: usize,
        config: MatchConfig,
    ) -> Result<Self, crate::hotlist::index::IndexError> {
        let entries: Vec<HotlistEntry> = plates
            .into_iter()
            .filter(|p| crate::hotlist::entry::normalize_list_plate(p, false).is_ok())
            .map(|p| HotlistEntry::new(p, Category::StolenVehicle, "truth"))
            .collect();
        let listed = HotlistIndex::build(config.clone(), &entries)?;
        let decoys = if decoys == 0 {
            HotlistIndex::empty(config)
        } else {
            crate::hotlist::synthetic::synthetic_index(decoys, DECOY_SEED, config)?.0
        };
        Ok(Self { listed, decoys })
    }

    /// The plates of the list a reading (its text, then its candidates) matches, exactly or
    /// approximately.
    fn matched(index: &HotlistIndex, text: &str, candidates: &[Candidate]) -> Vec<String> {
        let best = candidates.first().map_or(1.0, |c| c.confidence);
        let mut candidates: Vec<ReadCandidate<'_>> = std::iter::once(ReadCandidate { text, confidence: best })
            .chain(
                candidates
                    .iter()
                    .filter(|c| c.text != text)
                    .map(|c| ReadCandidate { text: &c.text, confidence: c.confidence }),
            )
            .collect();
        candidates.truncate(1 + super::ocr::MAX_CANDIDATES);
        let query = ReadQuery { candidates: &candidates, state: None, now: chrono::Utc::now() };
        index.match_read(&query).map(|hit| hit.matches.into_iter().map(|m| m.entry.plate).collect()).unwrap_or_default()
    }

    /// True when a reading (`text`, then its `candidates`) raises the hit on the listed plate
    /// `truth`.
    pub fn raises_hit(&self, text: &str, candidates: &[Candidate], truth: &str) -> bool {
        Self::matched(&self.listed, text, candidates).iter().any(|plate| plate == truth)
    }

    /// How many of `reads` match a decoy entry that is none of the `truth` plates.
    pub fn false_hits(&self, reads: &[PlateRead], truth: &[TruthPlate]) -> usize {
        reads
            .iter()
            .filter(|read| {
                let matched = Self::matched(&self.decoys, &read.text, &read.candidates);
                matched.iter().any(|plate| truth.iter().all(|t| t.text != *plate))
            })
            .count()
    }
}

/// Scores one image's reads against its truth, hits judged by `judge` when given; returns the
/// outcomes and the false-plate count.
pub fn score_image(truth: &[TruthPlate], reads: &[PlateRead], judge: Option<&HitJudge>) -> (Vec<PlateOutcome>, usize) {
    let mut used = vec![false; reads.len()];
    let outcomes = truth
        .iter()
        .map(|t| {
            let best = reads
                .iter()
                .enumerate()
                .map(|(i, r)| (i, r.bbox.iou(&t.bbox)))
                .filter(|&(_, iou)| iou > 0.0)
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let Some((i, iou)) = best else {
                return PlateOutcome::missed(&t.text);
            };
            used[i] = true;
            let r = &reads[i];
            PlateOutcome {
                truth: t.text.clone(),
                read: Some(r.text.clone()),
                exact: r.text == t.text,
                top5: r.text == t.text || r.candidates.iter().take(5).any(|c| c.text == t.text),
                detected: iou >= DETECTED_IOU,
                hit: judge.is_some_and(|j| j.raises_hit(&r.text, &r.candidates, &t.text)),
            }
        })
        .collect();
    let false_plates = reads
        .iter()
        .enumerate()
        .filter(|(i, r)| !used[*i] && truth.iter().all(|t| r.bbox.iou(&t.bbox) < DETECTED_IOU))
        .count();
    (outcomes, false_plates)
}

impl PlateOutcome {
    /// A truth plate no read was found for.
    pub fn missed(truth: &str) -> Self {
        Self { truth: truth.to_owned(), read: None, exact: false, top5: false, detected: false, hit: false }
    }
}

/// The closing line of `bench` on photos.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Images processed (including failed ones).
    pub images: usize,
    /// Truth plates read exactly.
    pub exact: usize,
    /// `exact` over truth plates.
    pub exact_rate: f64,
    /// The 95% Wilson score interval of `exact_rate`: the range another sample of photos
    /// like these would likely give (on about a hundred plates it is some 14 points wide).
    pub exact_rate_ci95: [f64; 2],
    /// Share of truth plates among the top five candidates.
    pub top5_rate: f64,
    /// Share of truth plates detected.
    pub detected_rate: f64,
    /// False plates per image.
    pub false_plates_per_image: f64,
    /// Share of truth plates that would raise their hot-list hit ([`HitJudge`]).
    pub hit_rate: f64,
    /// Reads per image that would match an entry of a random 1M-entry list they should not.
    pub hit_false_rate: f64,
    /// Median wall time per image, decode included.
    pub ms_median: f64,
    /// 95th percentile of the same.
    pub ms_p95: f64,
    /// Median CPU time per image of the thread that read it, decode included: the cost on
    /// an otherwise idle core, whatever else the machine was doing during the run.
    pub cpu_ms_median: f64,
    /// 95th percentile of the same.
    pub cpu_ms_p95: f64,
    /// Worker threads used.
    pub threads: usize,
}

/// Per-image result collected by the bench runner.
#[derive(Debug, Clone)]
pub struct ImageResult {
    /// The image file.
    pub file: String,
    /// One outcome per truth plate (all misses when the image failed to load).
    pub outcomes: Vec<PlateOutcome>,
    /// False plates in the image.
    pub false_plates: usize,
    /// Reads that matched a decoy entry they should not ([`HitJudge::false_hits`]).
    pub false_hits: usize,
    /// Wall time in milliseconds.
    pub ms: f64,
    /// CPU time of the reading thread in milliseconds.
    pub cpu_ms: f64,
    /// Why the image could not be processed.
    pub error: Option<String>,
}

/// Summarizes per-image results.
pub fn summarize(results: &[ImageResult], threads: usize) -> Summary {
    let plates: Vec<&PlateOutcome> = results.iter().flat_map(|r| r.outcomes.iter()).collect();
    let share = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    let exact = plates.iter().filter(|p| p.exact).count();
    let mut ms: Vec<f64> = results.iter().filter(|r| r.error.is_none()).map(|r| r.ms).collect();
    ms.sort_by(f64::total_cmp);
    let mut cpu_ms: Vec<f64> = results.iter().filter(|r| r.error.is_none()).map(|r| r.cpu_ms).collect();
    cpu_ms.sort_by(f64::total_cmp);
    Summary {
        images: results.len(),
        exact,
        exact_rate: share(exact, plates.len()),
        exact_rate_ci95: wilson_interval(exact, plates.len()),
        top5_rate: share(plates.iter().filter(|p| p.top5).count(), plates.len()),
        detected_rate: share(plates.iter().filter(|p| p.detected).count(), plates.len()),
        false_plates_per_image: share(results.iter().map(|r| r.false_plates).sum(), results.len()),
        hit_rate: share(plates.iter().filter(|p| p.hit).count(), plates.len()),
        hit_false_rate: share(results.iter().map(|r| r.false_hits).sum(), results.len()),
        ms_median: percentile(&ms, 0.5),
        ms_p95: percentile(&ms, 0.95),
        cpu_ms_median: percentile(&cpu_ms, 0.5),
        cpu_ms_p95: percentile(&cpu_ms, 0.95),
        threads,
    }
}

/// The 95% Wilson score interval of a proportion, `successes` of `trials`, rounded to three
/// places; `[0, 1]` when there were no trials. Unlike the plain normal interval it stays
/// inside 0-1 and is honest near the ends, where recognition rates live.
pub fn wilson_interval(successes: usize, trials: usize) -> [f64; 2] {
    if trials == 0 {
        return [0.0, 1.0];
    }
    const Z: f64 = 1.959_964;
    let (n, p) = (trials as f64, successes as f64 / trials as f64);
    let denominator = 1.0 + Z * Z / n;
    let centre = (p + Z * Z / (2.0 * n)) / denominator;
    let half = Z * (p * (1.0 - p) / n + Z * Z / (4.0 * n * n)).sqrt() / denominator;
    let round = |x: f64| (x.clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
    [round(centre - half), round(centre + half)]
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recognize::Candidate;
    use image::RgbImage;

    fn read(text: &str, x: f32, cands: &[&str]) -> PlateRead {
        PlateRead {
            text: text.into(),
            confidence: 0.9,
            char_confidences: vec![0.9; text.len()],
            bbox: BBox { x, y: 0.0, w: 100.0, h: 50.0 },
            corners: None,
            candidates: cands.iter().map(|c| Candidate { text: (*c).into(), confidence: 0.5 }).collect(),
            crop: RgbImage::new(1, 1),
            state: None,
        }
    }

    fn cands(texts: &[&str]) -> Vec<Candidate> {
        texts.iter().map(|c| Candidate { text: (*c).into(), confidence: 0.5 }).collect()
    }

    fn truth(text: &str, x: f32) -> TruthPlate {
        TruthPlate { bbox: BBox { x, y: 0.0, w: 100.0, h: 50.0 }, text: text.into() }
    }

    #[test]
    fn the_interval_brackets_the_rate() {
        assert_eq!(wilson_interval(91, 107), [0.771, 0.906]);
        assert_eq!(wilson_interval(50, 100), [0.404, 0.596]);
        // At the ends it stays inside 0-1 and still has width.
        assert_eq!(wilson_interval(100, 100), [0.963, 1.0]);
        assert_eq!(wilson_interval(0, 0), [0.0, 1.0]);
    }

    #[test]
    fn parses_truth_lines() {
        let (file, p) = parse_truth_line("a.jpg\t698\t85\t58\t29\t2da-044").unwrap();
        assert_eq!(file, "a.jpg");
        assert_eq!(p.text, "2DA044");
        assert_eq!(p.bbox, BBox { x: 698.0, y: 85.0, w: 58.0, h: 29.0 });
        assert!(parse_truth_line("a.jpg\t1\t2\t3").unwrap_err().contains("6 tab-separated"));
        assert!(parse_truth_line("a.jpg\tx\t2\t3\t4\tAB").unwrap_err().contains("not a number"));
        assert!(parse_truth_line("a.jpg\t1\t2\t0\t4\tAB").unwrap_err().contains("no area"));
        assert!(parse_truth_line("a.jpg\t1\t2\t3\t4\t--").unwrap_err().contains("empty"));
    }

    #[test]
    fn scoring_picks_best_overlap_and_counts_false_plates() {
        let reads = [read("7ABC128", 5.0, &["7ABC128", "7ABC123"]), read("JUNK", 500.0, &["JUNK"])];
        let (out, false_plates) = score_image(&[truth("7ABC123", 0.0)], &reads, None);
        assert_eq!(out.len(), 1);
        assert!(!out[0].exact && out[0].top5 && out[0].detected);
        assert_eq!(out[0].read.as_deref(), Some("7ABC128"));
        assert_eq!(false_plates, 1);
    }

    #[test]
    fn missed_plate_and_summary() {
        let (miss, f) = score_image(&[truth("ABC", 0.0)], &[], None);
        assert!(!miss[0].detected && miss[0].read.is_none());
        assert_eq!(f, 0);
        let judge = HitJudge::new(["ABC"], 0, MatchConfig::default()).unwrap();
        let (hit, _) = score_image(&[truth("ABC", 0.0)], &[read("ABC", 0.0, &["ABC"])], Some(&judge));
        let results = vec![
            ImageResult {
                file: "a".into(),
                outcomes: hit,
                false_plates: 0,
                false_hits: 0,
                ms: 10.0,
                cpu_ms: 8.0,
                error: None,
            },
            ImageResult {
                file: "b".into(),
                outcomes: miss,
                false_plates: 1,
                false_hits: 1,
                ms: 30.0,
                cpu_ms: 25.0,
                error: None,
            },
        ];
        let s = summarize(&results, 2);
        assert_eq!((s.images, s.exact, s.threads), (2, 1, 2));
        assert_eq!(s.exact_rate, 0.5);
        assert_eq!(s.false_plates_per_image, 0.5);
        assert_eq!((s.hit_rate, s.hit_false_rate), (0.5, 0.5));
        assert_eq!(s.ms_median, 10.0);
        assert_eq!(s.ms_p95, 30.0);
        assert_eq!((s.cpu_ms_median, s.cpu_ms_p95), (8.0, 25.0));
    }

    #[test]
    fn a_look_alike_misread_still_hits_and_a_stranger_does_not() {
        // A truth plate too long for any list is left out, not an error.
        let judge = HitJudge::new(["7ABC123", "8XYZ900", "SWEETTHING"], 0, MatchConfig::default()).unwrap();
        // Exact, then one OCR-equivalent character (8 for B, O for 0) in the text or a
        // candidate: the listed plate's hit is raised.
        assert!(judge.raises_hit("7ABC123", &cands(&["7ABC123"]), "7ABC123"));
        assert!(judge.raises_hit("7A8C123", &cands(&["7A8C123"]), "7ABC123"));
        assert!(judge.raises_hit("7AXC12", &cands(&["7AXC12", "7ABC123"]), "7ABC123"));
        assert!(judge.raises_hit("8XYZ9O0", &cands(&[]), "8XYZ900"));
        // A character that is no look-alike, a dropped character, or another listed plate:
        // no hit for this one.
        assert!(!judge.raises_hit("7AMC123", &cands(&["7AMC123"]), "7ABC123"));
        assert!(!judge.raises_hit("7ABC12", &cands(&["7ABC12"]), "7ABC123"));
        assert!(!judge.raises_hit("8XYZ900", &cands(&[]), "7ABC123"));
    }

    #[test]
    fn false_hits_are_decoy_matches_of_plates_not_in_the_photo() {
        // A small decoy list, so that some plate of it can be read on purpose.
        let judge = HitJudge::new(["7ABC123"], 2000, MatchConfig::default()).unwrap();
        let decoy = judge.decoys.iter_entries().next().unwrap().plate;
        let truth_plate = [truth("7ABC123", 0.0)];
        assert_eq!(judge.false_hits(&[read(&decoy, 0.0, &[])], &truth_plate), 1);
        // The same decoy plate is no false hit where it is the photo's own plate.
        assert_eq!(judge.false_hits(&[read(&decoy, 0.0, &[])], &[truth(&decoy, 0.0)]), 0);
        assert_eq!(judge.false_hits(&[], &truth_plate), 0);
    }

    #[test]
    fn truth_dir_reports_bad_lines_and_loads_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        RgbImage::new(4, 4).save(dir.path().join("a.png")).unwrap();
        std::fs::write(dir.path().join("a.txt"), "a.png\t1\t1\t2\t2\tAB1\nbroken line\n").unwrap();
        std::fs::write(dir.path().join("b.txt"), "b.png\t1\t1\t2\t2\tXY\n").unwrap();
        let (images, problems) = load_truth_dir(dir.path()).unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].plates[0].text, "AB1");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].ends_with("a.txt:2: expected 6 tab-separated fields, found 1"), "{problems:?}");
        assert!(problems[1].contains("not found"));
    }
}
