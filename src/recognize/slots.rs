//! The second plate-text reader: fast-plate-ocr's CCT-XS network (MIT, `models/third_party/
//! cct_xs_v1_global.onnx`) as fine-tuned by this project (`models/plate_slots.onnx`, same
//! graph, input and output), which reads a 64x128 colour crop into nine character slots, and
//! the decoding that turns its per-slot probabilities into ranked texts.
//!
//! Unlike the CTC reader ([`super::ocr`]) it sees the plate at its own 2:1 shape and in colour,
//! and it was trained on many countries' real plates; it was not trained to read non-plates as
//! empty, so the CTC reader still decides what is a plate (see `Recognizer`).

use std::path::Path;

use image::RgbImage;
use tract_onnx::prelude::*;

use super::model::{FixedModel, check_crop_size};
use super::ocr::{MAX_CANDIDATES, TextRead};
use super::{Candidate, RecognizeError};

/// The reader's input height in pixels.
pub const SLOT_H: usize = 64;
/// The reader's input width in pixels.
pub const SLOT_W: usize = 128;
/// Character slots the network fills (shorter plates are padded).
pub const SLOTS: usize = 9;
/// The output classes of every slot: the characters, then the pad.
const SLOT_ALPHABET: &[u8; 37] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_";
const SLOT_CLASSES: usize = SLOT_ALPHABET.len();
/// The pad class: the slot holds no character.
const PAD: usize = SLOT_CLASSES - 1;
/// Sequences kept while enumerating the most likely slot fillings.
const BEAM_WIDTH: usize = 16;
/// Classes of one slot below this probability never start a kept sequence.
const MIN_CLASS_P: f32 = 1e-3;

/// The per-slot class probabilities of one crop.
pub type SlotProbs = Vec<[f32; SLOT_CLASSES]>;

/// The loaded slot reader.
#[derive(Debug)]
pub struct SlotOcr {
    model: FixedModel,
}

impl SlotOcr {
    /// Loads and optimizes the model for one 64x128 RGB crop.
    ///
    /// The file is the upstream release byte for byte. Its graph carries `value_info` shape
    /// annotations with a symbolic batch that tract cannot reconcile with a reshape inside the
    /// network; tract is told to ignore them and the batch is fixed to 1 here, which is all the
    /// one-off conversion the model needs (the outputs match onnxruntime to 5 decimals).
    pub fn load(path: &Path) -> Result<Self, RecognizeError> {
        let onnx = tract_onnx::onnx().with_ignore_value_info(true);
        let model = FixedModel::load(path, onnx, u8::fact([1, SLOT_H, SLOT_W, 3]).into())?;
        let ocr = Self { model };
        // One run now, so a file with the wrong outputs fails at load, not mid-shift.
        ocr.probabilities(&RgbImage::from_pixel(SLOT_W as u32, SLOT_H as u32, image::Rgb([128, 128, 128])))?;
        Ok(ocr)
    }

    /// Per-slot class probabilities of a crop already sized `SLOT_W` x `SLOT_H`.
    pub fn probabilities(&self, crop: &RgbImage) -> Result<SlotProbs, RecognizeError> {
        check_crop_size(crop, SLOT_W, SLOT_H, "slot reader")?;
        let input = Tensor::from_shape(&[1, SLOT_H, SLOT_W, 3], crop.as_raw())
            .map_err(|e| RecognizeError::Inference(format!("{e:#}")))?;
        self.model.rows(input, |slots| slots == SLOTS, &format!("[1, {SLOTS}, {SLOT_CLASSES}]"))
    }

    /// Reads several crops of the same plate (each `SLOT_W` x `SLOT_H`) as one reading: the
    /// slot probabilities are averaged over the crops, then decoded.
    pub fn read_views(&self, crops: &[RgbImage]) -> Result<TextRead, RecognizeError> {
        let mut mean: SlotProbs = vec![[0.0; SLOT_CLASSES]; SLOTS];
        for crop in crops {
            for (acc, slot) in mean.iter_mut().zip(self.probabilities(crop)?) {
                for (a, p) in acc.iter_mut().zip(slot) {
                    *a += p / crops.len() as f32;
                }
            }
        }
        Ok(decode_slots(&mean))
    }
}

/// Decodes per-slot probabilities: the most likely slot fillings (a beam over the slots, each
/// filling's probability the product of its slots'), pads removed, equal texts merged.
pub fn decode_slots(probs: &[[f32; SLOT_CLASSES]]) -> TextRead {
    // (labels so far, probability), best first.
    let mut beams: Vec<(Vec<u8>, f32)> = vec![(Vec::with_capacity(SLOTS), 1.0)];
    for slot in probs {
        let mut classes: Vec<usize> = (0..SLOT_CLASSES).filter(|&k| slot[k] >= MIN_CLASS_P).collect();
        if classes.is_empty() {
            classes.push(argmax(slot));
        }
        let mut next: Vec<(Vec<u8>, f32)> = Vec::with_capacity(beams.len() * classes.len());
        for (labels, p) in &beams {
            for &k in &classes {
                let mut extended = labels.clone();
                extended.push(k as u8);
                next.push((extended, p * slot[k]));
            }
        }
        next.sort_by(|a, b| b.1.total_cmp(&a.1));
        next.truncate(BEAM_WIDTH);
        beams = next;
    }
    // Fillings that differ only in where the pads fall spell the same text: merge them.
    let mut texts: Vec<(String, f32, Vec<f32>)> = Vec::new();
    for (labels, p) in beams {
        let text: String = labels
            .iter()
            .filter(|&&k| usize::from(k) != PAD)
            .map(|&k| char::from(SLOT_ALPHABET[usize::from(k)]))
            .collect();
        match texts.iter_mut().find(|(t, _, _)| *t == text) {
            Some(found) => found.1 += p,
            None => {
                let peaks = labels
                    .iter()
                    .zip(probs)
                    .filter(|(k, _)| usize::from(**k) != PAD)
                    .map(|(&k, slot)| slot[usize::from(k)])
                    .collect();
                texts.push((text, p, peaks));
            }
        }
    }
    texts.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let (text, confidence, char_confidences) = texts.first().cloned().unwrap_or_default();
    let non_empty = || texts.iter().filter(|(t, _, _)| !t.is_empty());
    TextRead {
        text,
        confidence: confidence.min(1.0),
        char_confidences,
        candidates: non_empty()
            .take(MAX_CANDIDATES)
            .map(|(t, p, _)| Candidate { text: t.clone(), confidence: p.min(1.0) })
            .collect(),
        text_probability: non_empty().map(|(_, p, _)| p).sum::<f32>().min(1.0),
        span: None,
    }
}

fn argmax(slot: &[f32; SLOT_CLASSES]) -> usize {
    slot.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(PAD, |(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot sure of `ch` (`_` for the pad) with probability `p`, the rest spread evenly.
    fn slot(ch: u8, p: f32) -> [f32; SLOT_CLASSES] {
        let mut s = [(1.0 - p) / (SLOT_CLASSES - 1) as f32; SLOT_CLASSES];
        s[SLOT_ALPHABET.iter().position(|&a| a == ch).unwrap()] = p;
        s
    }

    fn slots(text: &str) -> Vec<[f32; SLOT_CLASSES]> {
        let padded = format!("{text:_<9}");
        padded.bytes().map(|c| slot(c, 0.98)).collect()
    }

    #[test]
    fn pads_end_the_text_and_each_character_keeps_its_slot_probability() {
        let read = decode_slots(&slots("7ABC123"));
        assert_eq!(read.text, "7ABC123");
        assert_eq!(read.char_confidences.len(), 7);
        assert!(read.char_confidences.iter().all(|&p| (p - 0.98).abs() < 1e-6));
        assert!(read.confidence > 0.8 && read.confidence < 0.9, "{}", read.confidence);
        assert_eq!(read.candidates[0].text, "7ABC123");
        assert_eq!(read.span, None);
    }

    #[test]
    fn a_doubtful_slot_gives_the_look_alike_as_the_next_candidate() {
        let mut probs = slots("8ABC123");
        let mut doubt = [0.0; SLOT_CLASSES];
        doubt[8] = 0.6; // '8'
        doubt[11] = 0.4; // 'B'
        probs[0] = doubt;
        let read = decode_slots(&probs);
        let texts: Vec<&str> = read.candidates.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(&texts[..2], &["8ABC123", "BABC123"]);
        assert!(read.candidates[0].confidence > read.candidates[1].confidence);
    }

    #[test]
    fn fillings_that_spell_the_same_text_are_merged() {
        // The second slot is a pad or an `A` with equal odds, the third an `A` or a pad: `_A`
        // and `A_` both spell "7A" and their probabilities add up.
        let mut probs: Vec<[f32; SLOT_CLASSES]> = vec![slot(b'_', 1.0); SLOTS];
        probs[0] = slot(b'7', 1.0);
        let mut either = [0.0; SLOT_CLASSES];
        either[10] = 0.5; // 'A'
        either[PAD] = 0.5;
        probs[1] = either;
        probs[2] = either;
        let read = decode_slots(&probs);
        assert_eq!(read.candidates[0].text, "7A");
        assert!((read.candidates[0].confidence - 0.5).abs() < 1e-5, "{:?}", read.candidates);
        assert!(read.candidates.iter().any(|c| c.text == "7AA"));
        // The all-but-one-pad filling "7" is a candidate too; no candidate is empty.
        assert!(read.candidates.iter().all(|c| !c.text.is_empty()));
    }

    #[test]
    fn rendered_plates_read_through_the_network_resize_and_beam() {
        use crate::recognize::{BBox, SLOT_FILE, geometry, models_dir};
        use crate::render::{PlateStyle, render_plate};
        let ocr = SlotOcr::load(&models_dir(None).join(SLOT_FILE)).unwrap();
        for style in PlateStyle::all() {
            for text in ["7ABC123", "KXM4821"] {
                // Rendered at 240 px wide and warped down to the 128x64 input, as the runtime does.
                let plate = render_plate(&style, text, 240).unwrap();
                let whole = BBox { x: 0.0, y: 0.0, w: plate.width() as f32, h: plate.height() as f32 }.corners();
                let crop = geometry::rectify_rgb(&plate, whole, SLOT_W as u32, SLOT_H as u32).unwrap();
                let read = ocr.read_views(&[crop]).unwrap();
                let why = format!("{} {text}: {:?}", style.code, read.candidates);
                assert_eq!(read.char_confidences.len(), read.text.len(), "{why}");
                // The renderer's 7 is thin at the top, and the reader, which never saw this
                // font, is torn between 7 and 1 on some styles: the beam keeps both.
                assert!(read.candidates.iter().take(2).any(|c| c.text == text), "{why}");
                if text == "KXM4821" {
                    assert_eq!(read.text, text, "{why}");
                    assert!(read.confidence > 0.9, "{why}");
                }
            }
        }
        // A crop of the wrong size is refused, not read.
        let err = ocr.probabilities(&RgbImage::new(64, 32)).unwrap_err().to_string();
        assert!(err.contains("64x32") && err.contains("128x64"), "{err}");
    }

    #[test]
    fn all_pads_read_as_no_text() {
        let read = decode_slots(&vec![slot(b'_', 0.99); SLOTS]);
        assert_eq!(read.text, "");
        assert!(read.candidates.is_empty() || read.text_probability < 0.1);
    }
}
