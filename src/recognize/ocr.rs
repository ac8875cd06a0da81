//! The plate-text recognizer: a CTC network (`plate_ocr.onnx`, trained by `training/`) that
//! reads a rectified gray plate crop, and the CTC decoding that turns its per-column
//! probabilities into the best text, per-character confidences and ranked alternatives.

use std::collections::HashMap;
use std::path::Path;

use tract_onnx::prelude::*;

use super::model::FixedModel;
use super::{Candidate, RecognizeError};

/// The recognizer's input height in pixels: 32 for the first model (a 2:1 US plate squeezed
/// to half its height); [`OCR_TALL_H`] for a plate-shaped one. The file says which.
pub const OCR_H: usize = 32;
/// The plate-shaped input height (`training/train.py --height 64`).
pub const OCR_TALL_H: usize = 64;
/// The input width in pixels, either height.
pub const OCR_W: usize = 128;
/// Output classes: CTC blank, then this alphabet.
pub const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const CLASSES: usize = ALPHABET.len() + 1;
/// Prefixes kept by the beam search.
const BEAM_WIDTH: usize = 12;
/// Alternatives returned per plate.
pub const MAX_CANDIDATES: usize = 5;

/// What the recognizer read in one crop.
#[derive(Debug, Clone, PartialEq)]
pub struct TextRead {
    /// Best text (possibly empty: the network's way of saying "not a plate").
    pub text: String,
    /// Probability of `text` summed over all its alignments, 0-1.
    pub confidence: f32,
    /// Peak probability of each character of `text`.
    pub char_confidences: Vec<f32>,
    /// Best texts first, non-empty ones only; the first is `text` when that is non-empty.
    pub candidates: Vec<Candidate>,
    /// Probability that the crop holds any text at all (the mass of the non-empty readings
    /// the beam kept). The network reads non-plates as empty text, so this separates plates
    /// from other things; `confidence` instead says how sure the reading is, and is low for an
    /// ambiguous but real plate (O or 0 on a vanity plate).
    pub text_probability: f32,
    /// Where the text lies across the (first view's) crop, as fractions of its width: the
    /// start of the first and the end of the last output column whose most likely class is a
    /// character; `None` when none is. Text that runs to an edge was probably cut off there.
    pub span: Option<(f32, f32)>,
}

/// The loaded recognizer.
#[derive(Debug)]
pub struct PlateOcr {
    model: FixedModel,
    height: usize,
}

impl PlateOcr {
    /// Loads and optimizes the model for the input shape it declares: `[1, 1, 32, 128]` or
    /// `[1, 1, 64, 128]`; any other is refused, naming the file.
    pub fn load(path: &Path) -> Result<Self, RecognizeError> {
        let onnx = tract_onnx::onnx();
        let height = match FixedModel::declared_input(path, &onnx)?.as_slice() {
            &[1, 1, h, OCR_W] if h == OCR_H || h == OCR_TALL_H => h,
            other => {
                return Err(RecognizeError::ModelInvalid {
                    path: path.to_path_buf(),
                    reason: format!("input shape {other:?}, expected [1, 1, {OCR_H} or {OCR_TALL_H}, {OCR_W}]"),
                });
            }
        };
        let model = FixedModel::load(path, onnx, f32::fact([1, 1, height, OCR_W]).into())?;
        let ocr = Self { model, height };
        // Check the output shape once, so a wrong file fails at load, not mid-shift.
        ocr.probabilities(&vec![0.5; height * OCR_W])?;
        Ok(ocr)
    }

    /// The input height the model reads (crops are cut to it): [`OCR_H`] or [`OCR_TALL_H`].
    pub fn height(&self) -> usize {
        self.height
    }

    /// Per-column class probabilities for a gray [`PlateOcr::height`] x `OCR_W` crop (values 0-1).
    pub fn probabilities(&self, gray: &[f32]) -> Result<Vec<[f32; CLASSES]>, RecognizeError> {
        let input = Tensor::from_shape(&[1, 1, self.height, OCR_W], gray)
            .map_err(|e| RecognizeError::Inference(format!("{e:#}")))?;
        self.model.rows(input, |columns| columns > 0, &format!("[1, T, {CLASSES}]"))
    }

    /// Reads one crop.
    pub fn read(&self, gray: &[f32]) -> Result<TextRead, RecognizeError> {
        Ok(decode(&self.probabilities(gray)?))
    }

    /// Reads several crops of the same plate as one reading ([`decode_views`]), as `schedule`
    /// says: a crop whose first view shows no text costs one run of the network, a clear
    /// plate `schedule.first`, a doubtful one all.
    pub fn read_views(&self, grays: &[Vec<f32>], schedule: ViewSchedule) -> Result<TextRead, RecognizeError> {
        let Some(head) = grays.first() else {
            return Ok(decode_views(&[]));
        };
        let mut views = vec![self.probabilities(head)?];
        let alone = decode_views(&views);
        if alone.text_probability < schedule.no_text {
            return Ok(alone);
        }
        let first = schedule.first.clamp(1, grays.len());
        for gray in &grays[1..first] {
            views.push(self.probabilities(gray)?);
        }
        let mut read = if views.len() == 1 { alone } else { decode_views(&views) };
        if grays.len() > first && read.confidence < schedule.sure {
            for gray in &grays[first..] {
                views.push(self.probabilities(gray)?);
            }
            read = decode_views(&views);
        }
        Ok(read)
    }
}

/// How many views of a plate the CTC reader reads ([`PlateOcr::read_views`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewSchedule {
    /// Views always read (unless the first shows no text).
    pub first: usize,
    /// The rest are read when the first views leave the reading less sure than this.
    pub sure: f32,
    /// A first view with less text probability than this ends the reading there: the crop
    /// holds no text (most of the detector's low-scoring boxes are grilles, lamps and
    /// stickers, and each further view costs a run of the network).
    pub no_text: f32,
}

/// Decodes CTC probabilities: prefix beam search for the ranked texts, the greedy path for
/// per-character peaks.
pub fn decode(probs: &[[f32; CLASSES]]) -> TextRead {
    let beams = prefix_beam_search(probs, BEAM_WIDTH);
    let ranked: Vec<(&[u8], f32)> = beams.iter().map(|(t, p)| (t.as_slice(), *p)).collect();
    reading(&ranked, probs, probs)
}

/// The reading of ranked texts (best first): per-character peaks from `peaks_from` (the
/// probabilities most sure of the best text), the span from `span_from`.
fn reading(ranked: &[(&[u8], f32)], peaks_from: &[[f32; CLASSES]], span_from: &[[f32; CLASSES]]) -> TextRead {
    let (best_text, confidence) = ranked.first().copied().unwrap_or((&[], 0.0));
    let texts = || ranked.iter().filter(|(t, _)| !t.is_empty());
    TextRead {
        text: to_text(best_text),
        confidence,
        char_confidences: char_peaks(peaks_from, best_text),
        candidates: texts().take(MAX_CANDIDATES).map(|(t, p)| Candidate { text: to_text(t), confidence: *p }).collect(),
        text_probability: texts().map(|(_, p)| p).sum::<f32>().min(1.0),
        span: greedy_span(span_from),
    }
}

/// The extent, as fractions of the input's width, of the columns whose most likely class is a
/// character rather than the blank.
fn greedy_span(probs: &[[f32; CLASSES]]) -> Option<(f32, f32)> {
    let is_char = |col: &[f32; CLASSES]| {
        let best = col.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(k, _)| k);
        best != 0
    };
    let first = probs.iter().position(is_char)?;
    let last = probs.iter().rposition(is_char)?;
    let columns = probs.len() as f32;
    Some((first as f32 / columns, (last + 1) as f32 / columns))
}

/// Decodes several views of the same plate (crops with different margins) as one reading:
/// each text's probability is averaged over the views (0 in a view whose beam lost it), so a
/// character that one framing clips or one margin confuses is outvoted by the others. The
/// per-character peaks come from the view most sure of the winning text.
pub fn decode_views(views: &[Vec<[f32; CLASSES]>]) -> TextRead {
    let Some(first) = views.first() else {
        return decode(&[]);
    };
    if views.len() == 1 {
        return decode(first);
    }
    let per_view: Vec<Vec<(Vec<u8>, f32)>> = views.iter().map(|v| prefix_beam_search(v, BEAM_WIDTH)).collect();
    let mut fused: HashMap<&[u8], f32> = HashMap::new();
    for beams in &per_view {
        for (text, p) in beams {
            *fused.entry(text.as_slice()).or_default() += p / views.len() as f32;
        }
    }
    let mut ranked: Vec<(&[u8], f32)> = fused.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let best_text = ranked.first().map_or(&[][..], |(t, _)| *t);
    let surest_view = per_view
        .iter()
        .enumerate()
        .map(|(i, beams)| (i, beams.iter().find(|(t, _)| t.as_slice() == best_text).map_or(0.0, |(_, p)| *p)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(i, _)| i);
    reading(&ranked, &views[surest_view], first)
}

fn to_text(labels: &[u8]) -> String {
    labels.iter().map(|&k| char::from(ALPHABET[usize::from(k) - 1])).collect()
}

/// Standard CTC prefix beam search; returns (label sequence, probability), best first.
fn prefix_beam_search(probs: &[[f32; CLASSES]], width: usize) -> Vec<(Vec<u8>, f32)> {
    // (p_blank, p_non_blank) per prefix.
    let mut beams: HashMap<Vec<u8>, (f32, f32)> = HashMap::from([(Vec::new(), (1.0, 0.0))]);
    for col in probs {
        let mut next: HashMap<Vec<u8>, (f32, f32)> = HashMap::with_capacity(beams.len() * 4);
        // Only classes with real mass extend prefixes: keeps the search cheap.
        let classes: Vec<usize> = (1..CLASSES).filter(|&k| col[k] > 1e-3).collect();
        for (prefix, &(pb, pnb)) in &beams {
            let total = pb + pnb;
            let e = next.entry(prefix.clone()).or_insert((0.0, 0.0));
            e.0 += total * col[0];
            if let Some(&last) = prefix.last() {
                e.1 += pnb * col[usize::from(last)];
            }
            for &k in &classes {
                let label = k as u8;
                let mut extended = prefix.clone();
                extended.push(label);
                let p = col[k];
                let e = next.entry(extended).or_insert((0.0, 0.0));
                if prefix.last() == Some(&label) {
                    e.1 += pb * p; // a repeat needs a blank between
                } else {
                    e.1 += total * p;
                }
            }
        }
        let mut ranked: Vec<(Vec<u8>, (f32, f32))> = next.into_iter().collect();
        ranked.sort_by(|a, b| (b.1.0 + b.1.1).total_cmp(&(a.1.0 + a.1.1)));
        ranked.truncate(width);
        beams = ranked.into_iter().collect();
    }
    let mut out: Vec<(Vec<u8>, f32)> = beams.into_iter().map(|(p, (b, nb))| (p, (b + nb).min(1.0))).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The peak probability of each label of `text` along the greedy path; when the greedy path
/// disagrees with `text` (rare), the peak of that label anywhere after the previous one.
fn char_peaks(probs: &[[f32; CLASSES]], text: &[u8]) -> Vec<f32> {
    let mut peaks = Vec::with_capacity(text.len());
    let mut t = 0;
    for &label in text {
        let k = usize::from(label);
        let mut best = (0.0f32, t);
        for (i, col) in probs.iter().enumerate().skip(t) {
            if col[k] > best.0 {
                best = (col[k], i);
            }
            // Stop at the end of this label's run once found, so repeats map to their own runs.
            if best.0 > 0.5 && col[k] < 0.5 {
                break;
            }
        }
        peaks.push(best.0);
        t = best.1 + 1;
    }
    peaks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(k: usize, p: f32) -> [f32; CLASSES] {
        let mut c = [(1.0 - p) / (CLASSES - 1) as f32; CLASSES];
        c[k] = p;
        c
    }

    fn idx(ch: u8) -> usize {
        ALPHABET.iter().position(|&a| a == ch).unwrap() + 1
    }

    #[test]
    fn the_span_is_where_characters_lie_across_the_crop() {
        let mut probs = vec![col(0, 0.99); 32];
        assert_eq!(greedy_span(&probs), None);
        probs[3] = col(idx(b'A'), 0.9);
        probs[29] = col(idx(b'7'), 0.6);
        assert_eq!(greedy_span(&probs), Some((3.0 / 32.0, 30.0 / 32.0)));
        assert_eq!(decode(&probs).span, greedy_span(&probs));
    }

    #[test]
    fn decodes_repeats_with_blanks_between() {
        let probs =
            [col(idx(b'9'), 0.95), col(0, 0.95), col(idx(b'9'), 0.95), col(idx(b'9'), 0.95), col(idx(b'A'), 0.9)];
        let r = decode(&probs);
        assert_eq!(r.text, "99A");
        assert_eq!(r.char_confidences.len(), 3);
        assert!(r.char_confidences.iter().all(|&c| c > 0.85));
        assert!(r.confidence > 0.6 && r.confidence <= 1.0);
        assert_eq!(r.candidates[0].text, "99A");
    }

    #[test]
    fn ambiguous_column_yields_alternative_candidate() {
        let mut amb = [0.0; CLASSES];
        amb[idx(b'8')] = 0.55;
        amb[idx(b'B')] = 0.45;
        let probs = [col(idx(b'7'), 0.99), col(0, 0.99), amb, col(0, 0.99)];
        let r = decode(&probs);
        assert_eq!(r.text, "78");
        let texts: Vec<&str> = r.candidates.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(&texts[..2], &["78", "7B"]);
        assert!(r.candidates[0].confidence > r.candidates[1].confidence);
        assert!(r.text_probability > 0.95, "an ambiguous plate is still surely text");
    }

    #[test]
    fn all_blank_is_empty_text() {
        let probs = vec![col(0, 0.99); 8];
        let r = decode(&probs);
        assert_eq!(r.text, "");
        assert!(r.char_confidences.is_empty());
        assert!(r.confidence > 0.9);
        assert!(r.text_probability < 0.1);
    }
}
