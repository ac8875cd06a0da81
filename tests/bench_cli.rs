//! `patrol-alpr bench DIR` on photos the test renders (a plate of known text in a textured
//! scene, with an OpenALPR-format truth file beside each): the table of misses, and the last
//! line one JSON object with the figures, the detector's plans built before timing (or, with
//! `--cold`, inside the photos' times) and said so.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use patrol_alpr::render::plate::PlateStyle;
use patrol_alpr::render::scene::{Placement, Scene};

/// Writes `NAME.png` and `NAME.txt` (file, x, y, w, h, plate; tab-separated) into `dir`.
fn photo(dir: &Path, name: &str, (width, height): (u32, u32), text: &str, seed: u64) {
    let mut scene = Scene::textured(width, height, seed);
    let placement = Placement::new(width as f32 / 2.0, height as f32 * 0.6, width as f32 / 5.0);
    let b = scene.add_plate(&PlateStyle::california(), text, &placement).unwrap().bbox;
    scene.image.save(dir.join(format!("{name}.png"))).unwrap();
    let line = format!("{name}.png\t{:.0}\t{:.0}\t{:.0}\t{:.0}\t{text}\n", b.x, b.y, b.w, b.h);
    std::fs::write(dir.join(format!("{name}.txt")), line).unwrap();
}

fn bench(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_patrol-alpr"))
        .arg("--data-dir")
        .arg(data.path())
        .arg("--config")
        .arg(data.path().join("none.toml"))
        .arg("bench")
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[test]
fn bench_reads_labelled_photos_and_reports_its_plans_apart() {
    let dir = tempfile::tempdir().unwrap();
    photo(dir.path(), "a", (1280, 720), "7ABC123", 1);
    photo(dir.path(), "b", (1280, 720), "4XYZ567", 2);
    photo(dir.path(), "c", (800, 600), "8KLM901", 3);
    // A truth file without its image is skipped with a warning, not an error.
    std::fs::write(dir.path().join("d.txt"), "d.png\t1\t1\t10\t5\tNOPE\n").unwrap();

    let warm = bench(dir.path(), &[]);
    assert_eq!(warm["images"], 3);
    assert_eq!(warm["exact"], 3, "{warm}");
    assert_eq!(warm["hit_rate"], 1.0);
    assert_eq!(warm["image_sizes"], 2, "two sizes, each prepared once: {warm}");
    assert!(warm["plans_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(warm["plans"], "built first");
    assert!(warm["ms_median"].as_f64().unwrap() > 0.0);

    let cold = bench(dir.path(), &["--cold"]);
    assert_eq!(cold["exact"], 3, "{cold}");
    assert_eq!(cold["image_sizes"], 0);
    assert_eq!(cold["plans"], "built when first needed, inside the photo's time");
}
