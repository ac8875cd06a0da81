//! The `bench` command: measure recognition on labelled photos or plate crops.
//!
//! Progress goes to stderr, a readable table (every miss included) to stdout, and the last
//! stdout line is one JSON object with the figures.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context as _, bail};
use cpu_time::ThreadTime;
use serde_json::json;

use super::Context;
use crate::hotlist::MatchConfig;
use crate::plate::normalize;
use crate::recognize::evaluate::{
    DECOY_ENTRIES, HitJudge, ImageResult, PlateOutcome, load_truth_dir, percentile, score_image, summarize,
    wilson_interval,
};
use crate::recognize::{Recognizer, image_io, models_dir};

/// Options of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Folder of images with OpenALPR-format truth (`NAME.txt` beside `NAME.jpg|png`), or of
    /// crops with `--crops`.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Recognizer only: label file of crops, lines `file,state,PLATE`.
    #[arg(long, value_name = "CSV")]
    pub crops: Option<PathBuf>,
    /// Worker threads (each recognition runs on one thread).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Only the files `training/train.py` leaves out of training when it trains on this
    /// share of the folder (0.8 for the crops, 0.5 for the EU photos): the validation set
    /// that choices are made on. Files are split by their name's SHA-256, as training does.
    #[arg(long, value_name = "SHARE")]
    pub held_out_of: Option<f64>,
    /// With `--crops`: which crops the state figures are measured on. The crops training
    /// leaves out (`--held-out-of 0.8`) are halved by another hash: `choose` (what the state
    /// classifier's checkpoint and threshold were chosen on) and `report` (read only for the
    /// report); `all` takes every crop, training's included.
    #[arg(long, value_name = "SPLIT", default_value = "report")]
    pub state_split: StateSplit,
    /// Photos: time each photo with the detector's plans built on the spot for sizes not seen
    /// before (about 85 ms a plan), as a process reading one photo pays; by default they are
    /// built for every size in the folder first (as a camera pipeline builds its frame
    /// size's at start) and their time is reported apart (`plans_ms`).
    #[arg(long)]
    pub cold: bool,
}

/// Which crops `bench --crops` measures the state classifier on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateSplit {
    /// The half of the held-out crops that choices are made on.
    Choose,
    /// The other half, read only for the report.
    Report,
    /// Every crop.
    All,
}

impl StateSplit {
    /// True when the crop `name` belongs to this split (`crop_split` in
    /// `training/train_state.py`).
    fn contains(self, name: &str) -> bool {
        let held = held_out(name, 0.8);
        match self {
            Self::All => true,
            Self::Choose => held && !held_out(&format!("state:{name}"), 0.5),
            Self::Report => held && held_out(&format!("state:{name}"), 0.5),
        }
    }
}

/// True when training on `train_share` of a folder leaves `name` out (`training/train.py`'s
/// `split_of`: the first 32 bits of the name's SHA-256 over 2^32 - 1, below the share trains).
fn held_out(name: &str, train_share: f64) -> bool {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let first = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    f64::from(first) / f64::from(u32::MAX) >= train_share
}

/// Runs `bench`.
pub fn run(ctx: &Context, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.config.recognizer;
    let recognizer = Recognizer::load(&models_dir(cfg.models_dir.as_deref()), cfg).context("loading the recognizer")?;
    for reason in recognizer.missing_readers() {
        eprintln!("warning: {reason}");
    }
    let threads = args.threads.max(1);
    let hits = ctx.config.hotlist.match_config();
    match &args.crops {
        Some(csv) => bench_crops(&recognizer, csv, &args.dir, threads, hits, (args.held_out_of, args.state_split)),
        None => bench_photos(&recognizer, &args.dir, threads, hits, (args.held_out_of, args.cold)),
    }
}

/// Runs `work` over `items` on `threads` scoped threads, keeping the input order.
fn parallel_map<T: Sync, R: Send>(items: &[T], threads: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = work(item);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_multiple_of(10) || n == items.len() {
                        eprint!("\r{n}/{} images", items.len());
                    }
                }
            });
        }
    });
    eprintln!();
    results.into_inner().unwrap_or_default().into_iter().flatten().collect()
}

fn bench_photos(
    recognizer: &Recognizer,
    dir: &Path,
    threads: usize,
    hits: MatchConfig,
    (held_out_of, cold): (Option<f64>, bool),
) -> anyhow::Result<ExitCode> {
    let (mut images, problems) = load_truth_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    if let Some(share) = held_out_of {
        images.retain(|i| i.image.file_name().is_some_and(|f| held_out(&f.to_string_lossy(), share)));
    }
    for p in &problems {
        eprintln!("warning: {p}");
    }
    if images.is_empty() {
        bail!("no labelled images in {}", dir.display());
    }
    let truth = images.iter().flat_map(|i| i.plates.iter().map(|p| p.text.as_str()));
    let judge = HitJudge::new(truth, DECOY_ENTRIES, hits).context("building the hit lists")?;
    // The detector's plan for an input size is built once per process (tract optimizes the
    // network for each shape); unless `--cold`, every size the folder holds is prepared
    // first, so the per-photo times are those of a process that has seen the size before.
    let plans_started = Instant::now();
    let mut sizes = std::collections::BTreeSet::new();
    if !cold {
        for truth in &images {
            if let Ok(img) = image_io::load_rgb(&truth.image)
                && sizes.insert(img.dimensions())
            {
                recognizer.warm_up(img.width(), img.height()).context("building the detector's plans")?;
            }
        }
    }
    let plans_ms = plans_started.elapsed().as_secs_f64() * 1000.0;
    let results = parallel_map(&images, threads, |truth| {
        let started = Instant::now();
        let cpu_started = ThreadTime::now();
        let file = truth.image.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let reads = image_io::load_rgb(&truth.image)
            .map_err(anyhow::Error::from)
            .and_then(|img| recognizer.recognize(&img).map_err(anyhow::Error::from));
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let cpu_ms = cpu_started.elapsed().as_secs_f64() * 1000.0;
        match reads {
            Ok(reads) => {
                let (outcomes, false_plates) = score_image(&truth.plates, &reads, Some(&judge));
                let false_hits = judge.false_hits(&reads, &truth.plates);
                ImageResult { file, outcomes, false_plates, false_hits, ms, cpu_ms, error: None }
            }
            Err(err) => {
                let outcomes = truth.plates.iter().map(|p| PlateOutcome::missed(&p.text)).collect();
                let error = Some(format!("{err:#}"));
                ImageResult { file, outcomes, false_plates: 0, false_hits: 0, ms, cpu_ms, error }
            }
        }
    });
    println!("{:<48} {:<10} {:<10} {:>8} {:>6}  note", "file", "truth", "read", "detected", "ms");
    for r in &results {
        for o in r.outcomes.iter().filter(|o| !o.exact) {
            let note = match (&r.error, o.top5, o.hit) {
                (Some(error), _, _) => error.as_str(),
                (None, true, true) => "in top 5, hit",
                (None, true, false) => "in top 5",
                (None, false, true) => "hit",
                (None, false, false) => "",
            };
            println!(
                "{:<48} {:<10} {:<10} {:>8} {:>6.1}  {note}",
                r.file,
                o.truth,
                o.read.as_deref().unwrap_or("-"),
                if o.detected { "yes" } else { "no" },
                r.ms
            );
        }
        if r.false_plates > 0 || r.false_hits > 0 {
            let (plates, hits) = (r.false_plates, r.false_hits);
            println!(
                "{:<48} {:<10} {:<10} {:>8} {:>6.1}  {plates} false plate(s), {hits} false hit(s)",
                r.file, "", "", "", r.ms
            );
        }
    }
    let mut summary = serde_json::to_value(summarize(&results, threads))?;
    summary["readers"] = json!(recognizer.reader_names());
    summary["plans"] = json!(if cold { "built when first needed, inside the photo's time" } else { "built first" });
    summary["plans_ms"] = json!(plans_ms);
    summary["image_sizes"] = json!(sizes.len());
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

fn bench_crops(
    recognizer: &Recognizer,
    csv: &Path,
    dir: &Path,
    threads: usize,
    hits: MatchConfig,
    (held_out_of, state_split): (Option<f64>, StateSplit),
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(csv).with_context(|| format!("reading {}", csv.display()))?;
    let mut items = Vec::new();
    // (file, state) of the crops the state figures are measured on.
    let mut state_items = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        match fields.as_slice() {
            [file, state, plate, ..] if !normalize(plate).is_empty() => {
                if held_out_of.is_none_or(|share| held_out(file, share)) {
                    items.push((dir.join(file), normalize(plate)));
                }
                if recognizer.reads_state() && state_split.contains(file) && !state.is_empty() {
                    state_items.push((dir.join(file), state.to_ascii_uppercase()));
                }
            }
            _ => eprintln!("warning: {}:{}: expected file,state,PLATE", csv.display(), n + 1),
        }
    }
    if items.is_empty() {
        bail!("no labelled crops in {}", csv.display());
    }
    let judge = HitJudge::new(items.iter().map(|(_, t)| t.as_str()), 0, hits).context("building the hit list")?;
    let results = parallel_map(&items, threads, |(path, truth)| {
        let started = ThreadTime::now();
        let read = image_io::load_rgb(path)
            .map_err(anyhow::Error::from)
            .and_then(|img| recognizer.read_crop(&img).map_err(anyhow::Error::from));
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let read = read.map(|r| {
            let hit = judge.raises_hit(&r.text, &r.candidates, truth);
            (r.text, hit)
        });
        (path.clone(), truth.clone(), read.map_err(|e| format!("{e:#}")), ms)
    });
    println!("{:<40} {:<10} {:<10}", "file", "truth", "read");
    let (mut exact, mut hit) = (0, 0);
    let mut ms = Vec::with_capacity(results.len());
    for (path, truth, read, t) in &results {
        ms.push(*t);
        hit += usize::from(read.as_ref().is_ok_and(|(_, hit)| *hit));
        match read {
            Ok((text, _)) if text == truth => exact += 1,
            Ok((text, hit)) => {
                println!("{:<40} {:<10} {:<10} {}", path.display(), truth, text, if *hit { "hit" } else { "" })
            }
            Err(err) => println!("{:<40} {:<10} {:<10} {err}", path.display(), truth, "-"),
        }
    }
    ms.sort_by(f64::total_cmp);
    let n = results.len();
    let mut summary = json!({
        "images": n,
        "exact": exact,
        "exact_rate": exact as f64 / n as f64,
        "exact_rate_ci95": wilson_interval(exact, n),
        "hit_rate": hit as f64 / n as f64,
        "cpu_ms_median": percentile(&ms, 0.5),
        "threads": threads,
        "readers": recognizer.reader_names(),
    });
    if !state_items.is_empty() {
        let states = bench_states(recognizer, &state_items, threads, state_split)?;
        if let (Some(all), serde_json::Value::Object(add)) = (summary.as_object_mut(), states) {
            all.extend(add);
        }
    }
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// The state classifier on labelled crops: top-1 and top-3 of its ranking, and what it
/// said: the right state, "unknown", or a wrong state named with confidence (the error
/// that matters: it would make a hit look like another vehicle's).
fn bench_states(
    recognizer: &Recognizer,
    items: &[(PathBuf, String)],
    threads: usize,
    split: StateSplit,
) -> anyhow::Result<serde_json::Value> {
    let results = parallel_map(items, threads, |(path, _)| {
        let img = image_io::load_rgb(path).map_err(|e| format!("{e:#}"))?;
        let started = ThreadTime::now();
        let read = recognizer.read_crop_state(&img).map_err(|e| format!("{e:#}"))?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok::<_, String>((read, ms))
    });
    let (mut top1, mut top3, mut named_right, mut wrong, mut unknown) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut ms = Vec::with_capacity(results.len());
    for (result, (path, truth)) in results.iter().zip(items) {
        let (read, t) = match result {
            Ok((Some(read), t)) => (read, t),
            Ok((None, ..)) => bail!("the state classifier is not loaded"),
            Err(err) => bail!("{}: {err}", path.display()),
        };
        ms.push(*t);
        let ranked: Vec<&str> = read.candidates.iter().map(|c| c.state).collect();
        top1 += usize::from(ranked.first() == Some(&truth.as_str()));
        top3 += usize::from(ranked.contains(&truth.as_str()));
        match read.state {
            Some(state) if state == truth.as_str() => named_right += 1,
            Some(state) => {
                wrong += 1;
                println!("{:<40} state {truth:<4} read {state} ({:.2})", path.display(), read.confidence);
            }
            None => unknown += 1,
        }
    }
    ms.sort_by(f64::total_cmp);
    let n = items.len() as f64;
    let split = format!("{split:?}").to_ascii_lowercase();
    Ok(json!({
        "state_split": split,
        "state_crops": items.len(),
        "state_rate": top1 as f64 / n,
        "state_rate_ci95": wilson_interval(top1, items.len()),
        "state_top3_rate": top3 as f64 / n,
        "state_named_right_rate": named_right as f64 / n,
        "state_unknown_rate": unknown as f64 / n,
        "state_wrong_rate": wrong as f64 / n,
        "state_cpu_ms_median": percentile(&ms, 0.5),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_held_out_split_is_the_one_training_uses() {
        // `training/train.py`: int(sha256(name)[:8], 16) / 0xFFFFFFFF, "train" below the share.
        // sha256("ca1.jpg") begins b16d08cd (0.693), sha256("wa2.jpg") cc62d97c (0.798),
        // sha256("ak10.jpg") 0076eee7 (0.002).
        assert!(!held_out("ca1.jpg", 0.8) && held_out("ca1.jpg", 0.5));
        assert!(!held_out("wa2.jpg", 0.8) && held_out("wa2.jpg", 0.798));
        assert!(!held_out("ak10.jpg", 0.5) && held_out("ak10.jpg", 0.0));
        // The state splits halve the crops training leaves out, and share nothing.
        let names: Vec<String> = (0..400).map(|i| format!("ca{i}.png")).collect();
        let count = |split: StateSplit| names.iter().filter(|n| split.contains(n)).count();
        let (choose, report) = (count(StateSplit::Choose), count(StateSplit::Report));
        let held = names.iter().filter(|n| held_out(n, 0.8)).count();
        assert_eq!(choose + report, held);
        assert!(choose > held / 4 && report > held / 4, "{choose} {report} of {held}");
        assert!(names.iter().all(|n| !(StateSplit::Choose.contains(n) && StateSplit::Report.contains(n))));
    }
}
