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
use crate::plate::normalize;
use crate::recognize::evaluate::{
    ImageResult, PlateOutcome, load_truth_dir, percentile, score_image, summarize, wilson_interval,
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
}

/// Runs `bench`.
pub fn run(ctx: &Context, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.config.recognizer;
    let recognizer = Recognizer::load(&models_dir(cfg.models_dir.as_deref()), cfg).context("loading the recognizer")?;
    let threads = args.threads.max(1);
    match &args.crops {
        Some(csv) => bench_crops(&recognizer, csv, &args.dir, threads),
        None => bench_photos(&recognizer, &args.dir, threads),
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

fn bench_photos(recognizer: &Recognizer, dir: &Path, threads: usize) -> anyhow::Result<ExitCode> {
    let (images, problems) = load_truth_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for p in &problems {
        eprintln!("warning: {p}");
    }
    if images.is_empty() {
        bail!("no labelled images in {}", dir.display());
    }
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
                let (outcomes, false_plates) = score_image(&truth.plates, &reads);
                ImageResult { file, outcomes, false_plates, ms, cpu_ms, error: None }
            }
            Err(err) => {
                let outcomes = truth
                    .plates
                    .iter()
                    .map(|p| PlateOutcome {
                        truth: p.text.clone(),
                        read: None,
                        exact: false,
                        top5: false,
                        detected: false,
                    })
                    .collect();
                ImageResult { file, outcomes, false_plates: 0, ms, cpu_ms, error: Some(format!("{err:#}")) }
            }
        }
    });
    println!("{:<48} {:<10} {:<10} {:>8} {:>6}  note", "file", "truth", "read", "detected", "ms");
    for r in &results {
        for o in r.outcomes.iter().filter(|o| !o.exact) {
            let note = r.error.as_deref().unwrap_or(if o.top5 { "in top 5" } else { "" });
            println!(
                "{:<48} {:<10} {:<10} {:>8} {:>6.1}  {note}",
                r.file,
                o.truth,
                o.read.as_deref().unwrap_or("-"),
                if o.detected { "yes" } else { "no" },
                r.ms
            );
        }
        if r.false_plates > 0 {
            println!("{:<48} {:<10} {:<10} {:>8} {:>6.1}  {} false plate(s)", r.file, "", "", "", r.ms, r.false_plates);
        }
    }
    let summary = summarize(&results, threads);
    println!("{}", serde_json::to_string(&summary)?);
    Ok(ExitCode::SUCCESS)
}

fn bench_crops(recognizer: &Recognizer, csv: &Path, dir: &Path, threads: usize) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(csv).with_context(|| format!("reading {}", csv.display()))?;
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        match fields.as_slice() {
            [file, _state, plate, ..] if !normalize(plate).is_empty() => items.push((dir.join(file), normalize(plate))),
            _ => eprintln!("warning: {}:{}: expected file,state,PLATE", csv.display(), n + 1),
        }
    }
    if items.is_empty() {
        bail!("no labelled crops in {}", csv.display());
    }
    let results = parallel_map(&items, threads, |(path, truth)| {
        let started = ThreadTime::now();
        let read = image_io::load_rgb(path)
            .map_err(anyhow::Error::from)
            .and_then(|img| recognizer.read_crop(&img).map_err(anyhow::Error::from));
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        (path.clone(), truth.clone(), read.map(|r| r.text).map_err(|e| format!("{e:#}")), ms)
    });
    println!("{:<40} {:<10} {:<10}", "file", "truth", "read");
    let mut exact = 0;
    let mut ms = Vec::with_capacity(results.len());
    for (path, truth, read, t) in &results {
        ms.push(*t);
        match read {
            Ok(text) if text == truth => exact += 1,
            Ok(text) => println!("{:<40} {:<10} {:<10}", path.display(), truth, text),
            Err(err) => println!("{:<40} {:<10} {:<10} {err}", path.display(), truth, "-"),
        }
    }
    ms.sort_by(f64::total_cmp);
    let n = results.len();
    let summary = json!({
        "images": n,
        "exact": exact,
        "exact_rate": exact as f64 / n as f64,
        "exact_rate_ci95": wilson_interval(exact, n),
        "cpu_ms_median": percentile(&ms, 0.5),
        "threads": threads,
    });
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}
