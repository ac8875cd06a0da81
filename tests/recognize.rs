//! Recognition end to end on images the project renders itself (known plate text): every
//! state style, plate-free scenes, rotation, perspective and blur within the documented
//! limits (docs/recognition.md), and several plates in one frame.

// Test helpers panic on failure by design: that is how a test fails.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use image::Rgb;
use patrol_alpr::config::RecognizerConfig;
use patrol_alpr::plate::normalize;
use patrol_alpr::recognize::{PlateRead, Recognizer, models_dir};
use patrol_alpr::render::plate::PlateStyle;
use patrol_alpr::render::scene::{Placement, Scene};

fn recognizer() -> &'static Recognizer {
    static RECOGNIZER: OnceLock<Recognizer> = OnceLock::new();
    RECOGNIZER.get_or_init(|| {
        Recognizer::load(&models_dir(None), &RecognizerConfig::default())
            .unwrap_or_else(|e| panic!("models missing: run scripts/fetch-models.sh ({e})"))
    })
}

/// Renders `text` in `style` at `placement` in a textured 1280x720 scene, recognizes it, and
/// returns the read that overlaps the plate best, or what was seen instead.
fn read_rendered(style: &PlateStyle, text: &str, placement: Placement, seed: u64) -> Result<PlateRead, String> {
    let mut scene = Scene::textured(1280, 720, seed);
    let truth = scene.add_plate(style, text, &placement).unwrap().bbox;
    let reads = recognizer().recognize(&scene.image).unwrap();
    let seen: Vec<String> = reads.iter().map(|r| format!("{} {:.2} at {:?}", r.text, r.confidence, r.bbox)).collect();
    reads
        .into_iter()
        .filter(|r| r.bbox.iou(&truth) >= 0.3)
        .max_by(|a, b| a.bbox.iou(&truth).total_cmp(&b.bbox.iou(&truth)))
        .ok_or_else(|| format!("not found; truth box {truth:?}; reads {seen:?}"))
}

fn assert_reads(style: &PlateStyle, text: &str, placement: Placement, seed: u64) {
    let read = read_rendered(style, text, placement, seed)
        .unwrap_or_else(|why| panic!("{} plate {text} at {placement:?}: {why}", style.code));
    assert_eq!(read.text, normalize(text), "{} plate at {placement:?}", style.code);
    // Vanity plates mixing O/0 and I/1 are honestly ambiguous: the reading is still the
    // most likely by a clear margin.
    assert!(read.confidence > 0.3, "confidence {}", read.confidence);
    assert_eq!(read.char_confidences.len(), read.text.len());
    assert_eq!(read.candidates[0].text, read.text);
}

#[test]
fn reads_every_state_style() {
    let texts = ["7ABC123", "KXM4821", "PLT5093", "DEF4567", "HRT2209"];
    for (i, style) in PlateStyle::all().iter().enumerate() {
        assert_reads(style, texts[i % texts.len()], Placement::new(640.0, 420.0, 200.0), i as u64);
    }
}

#[test]
fn reads_vanity_and_short_plates() {
    assert_reads(&PlateStyle::new_york(), "ZK91", Placement::new(700.0, 380.0, 220.0), 12);
    assert_reads(&PlateStyle::texas(), "2FAST", Placement::new(640.0, 400.0, 220.0), 13);
    // A vanity plate mixing letters and digits that look alike (I/1) is honestly ambiguous in
    // this font: the truth must be among the candidates, and the read must equal it through
    // the hot lists' OCR-equivalent classes, which is how a hit on it would be matched.
    let read = read_rendered(&PlateStyle::california(), "GO4IT", Placement::new(500.0, 400.0, 220.0), 11).unwrap();
    assert!(read.candidates.iter().any(|c| c.text == "GO4IT"), "{:?}", read.candidates);
    let classes = patrol_alpr::hotlist::EquivalenceClasses::default();
    assert!(
        read.text.len() == 5 && read.text.bytes().zip("GO4IT".bytes()).all(|(a, b)| a == b || classes.equivalent(a, b)),
        "{}",
        read.text
    );
}

#[test]
fn finds_no_plate_in_plate_free_scenes() {
    for seed in 100..104 {
        let scene = Scene::textured(1280, 720, seed);
        let reads = recognizer().recognize(&scene.image).unwrap();
        assert!(reads.is_empty(), "seed {seed}: {:?}", reads.iter().map(|r| &r.text).collect::<Vec<_>>());
    }
    let flat = Scene::plain(640, 480, Rgb([128, 128, 128]));
    assert!(recognizer().recognize(&flat.image).unwrap().is_empty());
}

#[test]
fn reads_rotated_turned_and_blurred_plates_within_limits() {
    let style = PlateStyle::california();
    let base = Placement::new(640.0, 400.0, 200.0);
    assert_reads(&style, "5TRK902", base.rotated(8.0), 21);
    assert_reads(&style, "5TRK902", base.rotated(-8.0), 22);
    assert_reads(&style, "5TRK902", base.turned(0.3), 23);
    assert_reads(&style, "5TRK902", base.blurred(1), 24);
    assert_reads(&style, "5TRK902", base.moving(4.0, 0.0), 25);
}

#[test]
fn reads_several_plates_in_one_frame() {
    let mut scene = Scene::textured(1280, 720, 7);
    scene.add_plate(&PlateStyle::california(), "8LMN456", &Placement::new(300.0, 400.0, 190.0)).unwrap();
    scene.add_plate(&PlateStyle::texas(), "BRK5521", &Placement::new(950.0, 450.0, 190.0)).unwrap();
    let mut texts: Vec<String> = recognizer().recognize(&scene.image).unwrap().into_iter().map(|r| r.text).collect();
    texts.sort();
    assert_eq!(texts, ["8LMN456", "BRK5521"]);
}

#[test]
fn tiny_and_odd_images_do_not_fail() {
    for (w, h) in [(1, 1), (16, 16), (3000, 20), (20, 3000)] {
        let img = image::RgbImage::from_pixel(w, h, Rgb([200, 200, 200]));
        assert!(recognizer().recognize(&img).unwrap().is_empty(), "{w}x{h}");
    }
}

/// Issue 16: each built-in state style, read in a scene through the detector, is read with
/// its state; the state's confidence and runners-up come with it.
#[test]
fn reads_the_state_of_every_state_style() {
    assert!(recognizer().reads_state(), "plate_state.onnx missing: {:?}", recognizer().missing_readers());
    let texts = ["8KDF204", "RTW3318", "5MNP772"];
    for (i, style) in PlateStyle::all().iter().enumerate() {
        for (j, text) in texts.iter().enumerate() {
            let placement = Placement::new(560.0 + 40.0 * j as f32, 400.0, 180.0 + 20.0 * j as f32);
            let read = read_rendered(style, text, placement, 100 + (i * 3 + j) as u64)
                .unwrap_or_else(|why| panic!("{} {text}: {why}", style.code));
            let state = read.state.expect("the state classifier is loaded");
            assert_eq!(state.state, Some(style.code.as_str()), "{} {text}: {:?}", style.code, state.candidates);
            assert_eq!(state.candidates[0].state, style.code);
            assert!(state.candidates.len() == 3 && state.confidence >= state.candidates[1].confidence);
        }
    }
}

/// The detector, trained on Chinese plates, often frames a US plate's band of characters
/// alone, its top edge just under the state's name or into it. The state is still ranked
/// first, surely, by the taller of the framings it is read in: with the first framing alone
/// these plates averaged 0.25 in their state and 9 of the 15 went unnamed.
#[test]
fn a_plate_framed_by_its_characters_alone_still_reads_its_state() {
    use patrol_alpr::recognize::geometry::grow_quad;
    let mut sureness = Vec::new();
    for (i, style) in PlateStyle::all().iter().enumerate() {
        for (j, width) in [120.0, 180.0, 240.0].into_iter().enumerate() {
            let mut scene = Scene::textured(1280, 720, 300 + (i * 3 + j) as u64);
            let plate = scene.add_plate(style, "8KDF204", &Placement::new(640.0, 360.0, width)).unwrap().corners;
            // The band: the top fifth (the state's name) and the bottom 12% (the slogan) cut off.
            let band = grow_quad(plate, -0.02, -0.02, -0.20, -0.12);
            let read = recognizer().read_state(&scene.image, band).unwrap().expect("the state classifier is loaded");
            let (first, second) = (&read.candidates[0], &read.candidates[1]);
            assert_eq!(first.state, style.code, "{} {width} px: {:?}", style.code, read.candidates);
            assert!(first.confidence >= 2.0 * second.confidence, "{} {width} px: {:?}", style.code, read.candidates);
            sureness.push(first.confidence);
        }
    }
    let mean = sureness.iter().sum::<f32>() / sureness.len() as f32;
    assert!(mean >= 0.45, "mean {mean}: {sureness:?}");
}

/// A plate whose state name and slogan are covered (a plate frame, mud) is "unknown", not a
/// guess from the colours.
#[test]
fn a_plate_with_its_state_words_covered_reads_unknown() {
    use patrol_alpr::render::render_plate;
    let mut named = 0;
    for style in PlateStyle::all() {
        let plate = render_plate(&style, "4HJK219", 256).unwrap();
        let read = recognizer().read_crop_state(&plate).unwrap().unwrap();
        named += usize::from(read.state == Some(style.code.as_str()));
        let mut covered = plate.clone();
        let (w, h) = covered.dimensions();
        let paint = *plate.get_pixel(w / 2, h * 3 / 10);
        for y in (0..h * 26 / 100).chain(h * 78 / 100..h) {
            for x in 0..w {
                covered.put_pixel(x, y, paint);
            }
        }
        let read = recognizer().read_crop_state(&covered).unwrap().unwrap();
        assert_eq!(read.state, None, "{} covered: {:?}", style.code, read.candidates);
    }
    assert_eq!(named, PlateStyle::all().len(), "the same plates uncovered are read with their state");
}

/// A Texas plate whose text is on a California list is a hit, but never exact: the banner
/// says the state differs; a BOLO entry without a state matches it exact.
#[test]
fn a_texas_plate_on_a_california_list_is_a_state_mismatch() {
    use patrol_alpr::hotlist::{
        Category, HotlistEntry, HotlistIndex, MatchConfig, ReadCandidate, ReadQuery, StateCheck,
    };
    let read = read_rendered(&PlateStyle::texas(), "6TRK415", Placement::new(640.0, 420.0, 220.0), 7).unwrap();
    let state = read.state.as_ref().and_then(|s| s.state);
    assert_eq!(state, Some("TX"));
    let entry = |plate: &str, state: Option<&str>| {
        let mut e = HotlistEntry::new(plate, Category::StolenVehicle, "SVS");
        e.state = state.map(str::to_owned);
        e
    };
    let index = HotlistIndex::build(MatchConfig::default(), &[entry("6TRK415", Some("CA"))]).unwrap();
    let candidates: Vec<ReadCandidate<'_>> =
        read.candidates.iter().map(|c| ReadCandidate { text: &c.text, confidence: c.confidence }).collect();
    let now = chrono::Utc::now();
    let hit = index.match_read(&ReadQuery { candidates: &candidates, state, now }).unwrap();
    assert_eq!(hit.matches[0].state_check, StateCheck::Differs);
    assert!(!hit.is_exact());
    assert_eq!(hit.matches[0].state_words(), "DIFFERENT STATE: read TX, list CA");
    let bolo = HotlistIndex::build(MatchConfig::default(), &[entry("6TRK415", None)]).unwrap();
    let hit = bolo.match_read(&ReadQuery { candidates: &candidates, state, now }).unwrap();
    assert_eq!(hit.matches[0].state_check, StateCheck::NotListed);
    assert!(hit.is_exact(), "a BOLO without a state matches any state");
}
