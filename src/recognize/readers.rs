//! The two plate-text readers together: the project's CTC reader (`plate_ocr.onnx`) and the
//! slot reader (fast-plate-ocr's CCT-XS), which of them reads a plate, and how their readings
//! are combined into one.
//!
//! The CTC reader was trained to read non-plates (dealer names, grilles, stickers) as empty
//! text, the slot reader was not: so the CTC reader always decides whether a crop is a plate
//! when it is present, and the slot reader is only asked about crops that are.

use std::path::Path;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::geometry::{self, Quad};
use super::ocr::{OCR_W, PlateOcr, TextRead, ViewSchedule};
use super::slots::{SLOT_H, SLOT_W, SlotOcr};
use super::{Candidate, RecognizeError};

/// Which readers read a plate's text (`[recognizer] reader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ReaderMode {
    /// The CTC reader alone.
    Ctc,
    /// The slot reader's text; the CTC reader still decides what is a plate.
    Slots,
    /// Both read every plate; their candidates' probabilities are averaged.
    Vote,
    /// The slot reader is asked, and votes, only when the CTC reading is unsure.
    SecondOpinion,
}

/// The loaded readers: either may be missing (a model file not installed), not both.
#[derive(Debug)]
pub struct Readers {
    ctc: Option<PlateOcr>,
    slots: Option<SlotOcr>,
    mode: ReaderMode,
    second_opinion_below: f32,
}

/// A load that found a model file missing, for the caller to report.
#[derive(Debug)]
pub struct Loaded {
    /// The readers.
    pub readers: Readers,
    /// Why a reader is not there (a missing file), to be shown; empty when both loaded.
    pub missing: Vec<RecognizeError>,
}

impl Readers {
    /// Loads the readers `mode` uses. A missing file leaves its reader out (noted in
    /// `missing`) as long as the other one loads; a file that exists but cannot be loaded, or
    /// both files missing, is an error naming the file.
    pub fn load(
        ctc_path: &Path,
        slot_path: &Path,
        mode: ReaderMode,
        second_opinion_below: f32,
    ) -> Result<Loaded, RecognizeError> {
        let (ctc, ctc_missing) = Self::optional(PlateOcr::load(ctc_path))?;
        let (slots, slot_missing) =
            if mode == ReaderMode::Ctc { (None, None) } else { Self::optional(SlotOcr::load(slot_path))? };
        if ctc.is_none() && slots.is_none() {
            // Neither reader: name the one the mode relies on first.
            return Err(ctc_missing.or(slot_missing).unwrap_or(RecognizeError::ModelMissing(ctc_path.to_path_buf())));
        }
        let missing = ctc_missing.into_iter().chain(slot_missing).collect();
        Ok(Loaded { readers: Self { ctc, slots, mode, second_opinion_below }, missing })
    }

    /// A reader that loaded, or the missing file that left it out; any other failure is an error.
    #[allow(clippy::type_complexity)]
    fn optional<R>(result: Result<R, RecognizeError>) -> Result<(Option<R>, Option<RecognizeError>), RecognizeError> {
        match result {
            Ok(reader) => Ok((Some(reader), None)),
            Err(missing @ RecognizeError::ModelMissing(_)) => Ok((None, Some(missing))),
            Err(other) => Err(other),
        }
    }

    /// The readers in use, for reports: `ctc`, `slots` or `ctc+slots`.
    pub fn names(&self) -> &'static str {
        match (&self.ctc, &self.slots) {
            (Some(_), Some(_)) => "ctc+slots",
            (Some(_), None) => "ctc",
            _ => "slots",
        }
    }

    /// The CTC reader, when loaded.
    pub fn ctc(&self) -> Option<&PlateOcr> {
        self.ctc.as_ref()
    }

    /// Reads the plate framed by each CTC quad (as many as `schedule` says) and, as the mode
    /// says, by each slot quad; `None` when no
    /// quad can be warped. `is_plate` is asked of the CTC reading before the slot reader
    /// spends its time on a crop.
    pub fn read(
        &self,
        img: &RgbImage,
        ctc_quads: &[Quad],
        slot_quads: &[Quad],
        schedule: ViewSchedule,
        is_plate: impl Fn(&TextRead) -> bool,
    ) -> Result<Option<TextRead>, RecognizeError> {
        let ctc_read = match &self.ctc {
            Some(ctc) => {
                let grays: Vec<Vec<f32>> =
                    ctc_quads.iter().filter_map(|&q| geometry::rectify_gray(img, q, OCR_W, ctc.height())).collect();
                if grays.is_empty() {
                    return Ok(None);
                }
                Some(ctc.read_views(&grays, schedule)?)
            }
            None => None,
        };
        let wanted = match (&ctc_read, self.mode) {
            (None, _) => true,
            (Some(_), ReaderMode::Ctc) => false,
            (Some(read), _) if !is_plate(read) => false,
            (Some(read), ReaderMode::SecondOpinion) => read.confidence < self.second_opinion_below,
            (Some(_), ReaderMode::Slots | ReaderMode::Vote) => true,
        };
        let slot_read = match (&self.slots, wanted) {
            (Some(slots), true) => {
                let crops: Vec<RgbImage> = slot_quads
                    .iter()
                    .filter_map(|&q| geometry::rectify_rgb(img, q, SLOT_W as u32, SLOT_H as u32))
                    .collect();
                if crops.is_empty() { None } else { Some(slots.read_views(&crops)?) }
            }
            _ => None,
        };
        Ok(match (ctc_read, slot_read) {
            (Some(ctc), Some(slot)) if self.mode == ReaderMode::Slots => {
                Some(TextRead { text_probability: ctc.text_probability, span: ctc.span, ..slot })
            }
            (Some(ctc), Some(slot)) => Some(vote(&ctc, &slot)),
            (Some(only), None) | (None, Some(only)) => Some(only),
            (None, None) => None,
        })
    }
}

/// Combines two readings of the same plate: each text's probability is the mean of what the
/// two readers gave it (0 where a reader's candidates lack it). Whether the crop holds a plate
/// at all, and where its text lies, stay the first (CTC) reading's.
pub fn vote(ctc: &TextRead, slot: &TextRead) -> TextRead {
    let mut ranked: Vec<Candidate> = Vec::with_capacity(ctc.candidates.len() + slot.candidates.len());
    for (read, weight) in [(ctc, 0.5), (slot, 0.5)] {
        for c in &read.candidates {
            match ranked.iter_mut().find(|r| r.text == c.text) {
                Some(r) => r.confidence += weight * c.confidence,
                None => ranked.push(Candidate { text: c.text.clone(), confidence: weight * c.confidence }),
            }
        }
    }
    ranked.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then_with(|| a.text.cmp(&b.text)));
    ranked.truncate(super::ocr::MAX_CANDIDATES);
    let Some(best) = ranked.first().cloned() else {
        return ctc.clone();
    };
    // Per-character confidences from a reader that read the winning text, the surer one.
    let char_confidences = [slot, ctc]
        .into_iter()
        .filter(|r| r.text == best.text)
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
        .map_or_else(|| vec![best.confidence; best.text.len()], |r| r.char_confidences.clone());
    TextRead {
        text: best.text,
        confidence: best.confidence,
        char_confidences,
        candidates: ranked,
        text_probability: ctc.text_probability,
        span: ctc.span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(candidates: &[(&str, f32)], text_probability: f32) -> TextRead {
        let text = candidates.first().map_or("", |c| c.0);
        TextRead {
            text: text.into(),
            confidence: candidates.first().map_or(0.0, |c| c.1),
            char_confidences: vec![0.5; text.len()],
            candidates: candidates.iter().map(|&(t, p)| Candidate { text: t.into(), confidence: p }).collect(),
            text_probability,
            span: Some((0.1, 0.9)),
        }
    }

    #[test]
    fn the_vote_averages_each_text_and_keeps_the_ctc_plate_decision() {
        // CTC unsure between B and 8, the slot reader sure of 8.
        let ctc = reading(&[("7BBC123", 0.5), ("78BC123", 0.4)], 0.97);
        let slot = TextRead { char_confidences: vec![0.99; 7], ..reading(&[("78BC123", 0.95)], 0.99) };
        let voted = vote(&ctc, &slot);
        assert_eq!(voted.text, "78BC123");
        assert!((voted.confidence - 0.675).abs() < 1e-6);
        assert_eq!(voted.candidates[1].text, "7BBC123");
        assert!((voted.candidates[1].confidence - 0.25).abs() < 1e-6);
        assert_eq!(voted.char_confidences, vec![0.99; 7], "from the reader that read the winner");
        assert_eq!((voted.text_probability, voted.span), (0.97, Some((0.1, 0.9))));
    }

    #[test]
    fn a_winner_neither_reader_put_first_gets_its_own_confidence_per_character() {
        let ctc = reading(&[("ABC", 0.4), ("ABD", 0.35)], 0.9);
        let slot = reading(&[("ABE", 0.4), ("ABD", 0.35)], 0.9);
        let voted = vote(&ctc, &slot);
        assert_eq!(voted.text, "ABD");
        assert_eq!(voted.char_confidences, vec![voted.confidence; 3]);
    }

    #[test]
    fn modes_are_spelled_in_kebab_case() {
        #[derive(Deserialize)]
        struct S {
            reader: ReaderMode,
        }
        assert_eq!(toml::from_str::<S>("reader = \"second-opinion\"").unwrap().reader, ReaderMode::SecondOpinion);
        assert!(toml::from_str::<S>("reader = \"both\"").is_err());
    }
}
