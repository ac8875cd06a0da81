//! Which state issued a plate: the project's state classifier (`training/train_state.py`).
//!
//! A small CNN looks at the plate in colour (64x128, framed like the slot reader's crop) and
//! gives a probability for each of the 50 states and DC, and for "unknown": a plate whose
//! state words are covered, cut off or not printed. What a person reads (the state name and
//! slogan, the plate's colours and layout) is what it was trained on. It says a state only
//! when that state is at least `min_confidence` likely and "unknown" is not likelier; the
//! hot-list matcher then calls a hit exact only when that state agrees with the entry's.

use std::path::Path;

use image::RgbImage;
use serde::Serialize;
use tract_onnx::prelude::*;

use super::RecognizeError;
use super::model::{FixedModel, check_crop_size};

/// File name of the state classifier inside the models folder.
pub const STATE_FILE: &str = "plate_state.onnx";
/// Height of the classifier's input crop.
pub const STATE_H: usize = 64;
/// Width of the classifier's input crop.
pub const STATE_W: usize = 128;
/// The classes, in the network's output order (`CODES` in `training/train_state.py`): USPS
/// codes, alphabetical; the last output is "unknown".
pub const STATE_CODES: [&str; 51] = [
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN", "KS", "KY", "LA",
    "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WV", "WY",
];
const CLASSES: usize = STATE_CODES.len() + 1;
const UNKNOWN: usize = STATE_CODES.len();
/// How many states a reading lists for the officer and for tie-breaking.
pub const STATE_CANDIDATES: usize = 3;

/// The classifier's probabilities for one plate (or the mean over several views or frames).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StateProbs([f32; CLASSES]);

impl StateProbs {
    /// The mean of several plates' probabilities, each with its weight; `None` when there
    /// are none or no weight is positive.
    pub fn weighted_mean<'a>(all: impl IntoIterator<Item = (&'a StateProbs, f32)>) -> Option<StateProbs> {
        let mut sum = [0.0f32; CLASSES];
        let mut total = 0.0f32;
        for (probs, weight) in all {
            let weight = weight.max(0.0);
            for (s, p) in sum.iter_mut().zip(probs.0) {
                *s += weight * p;
            }
            total += weight;
        }
        (total > 0.0).then(|| StateProbs(sum.map(|s| s / total)))
    }

    /// The probability of "unknown".
    pub fn unknown(&self) -> f32 {
        self.0[UNKNOWN]
    }

    /// Probabilities with all the weight on `code` (or on "unknown" for `None`): for tests
    /// and for readings whose state is known some other way.
    pub fn certain(code: Option<&str>) -> StateProbs {
        let mut p = [0.0; CLASSES];
        p[code.and_then(state_index).unwrap_or(UNKNOWN)] = 1.0;
        StateProbs(p)
    }

    /// The reading these probabilities give: the likeliest state when it is at least
    /// `min_confidence` likely and likelier than "unknown", else no state; with the
    /// [`STATE_CANDIDATES`] likeliest states either way.
    pub fn decide(&self, min_confidence: f32) -> StateRead {
        let mut ranked: Vec<(usize, f32)> = self.0[..UNKNOWN].iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let candidates: Vec<StateCandidate> = ranked
            .iter()
            .take(STATE_CANDIDATES)
            .map(|&(i, p)| StateCandidate { state: STATE_CODES[i], confidence: p })
            .collect();
        let (top, p) = ranked[0];
        let known = p >= min_confidence && p > self.unknown();
        StateRead { state: known.then_some(STATE_CODES[top]), confidence: p, candidates, probs: *self, min_confidence }
    }
}

/// The position of a USPS code (any case) in [`STATE_CODES`].
fn state_index(code: &str) -> Option<usize> {
    STATE_CODES.iter().position(|c| c.eq_ignore_ascii_case(code))
}

/// One likely issuing state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateCandidate {
    /// USPS code.
    pub state: &'static str,
    /// Probability, 0-1.
    pub confidence: f32,
}

/// Which state issued a plate, as far as the classifier can tell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateRead {
    /// The state, or `None` ("unknown") when the classifier is not sure enough.
    pub state: Option<&'static str>,
    /// The likeliest state's probability (whether or not it was sure enough to name).
    pub confidence: f32,
    /// The likeliest states, best first.
    pub candidates: Vec<StateCandidate>,
    /// What the reading was decided from, so a tracker can average it over frames.
    #[serde(skip)]
    pub probs: StateProbs,
    /// The floor it was decided with.
    #[serde(skip)]
    pub min_confidence: f32,
}

impl StateRead {
    /// One reading from several of the same plate (a track's frames), each with a weight:
    /// their probabilities averaged by weight, decided with the first's floor; `None` for
    /// none.
    pub fn merge<'a>(reads: impl IntoIterator<Item = (&'a StateRead, f32)>) -> Option<StateRead> {
        let reads: Vec<(&StateRead, f32)> = reads.into_iter().collect();
        let floor = reads.first()?.0.min_confidence;
        StateProbs::weighted_mean(reads.iter().map(|(r, w)| (&r.probs, *w))).map(|p| p.decide(floor))
    }
}

/// The loaded state classifier.
#[derive(Debug)]
pub struct StateReader {
    model: FixedModel,
    min_confidence: f32,
}

impl StateReader {
    /// Loads and optimizes the classifier for one 64x128 RGB crop; it names a state only
    /// when at least `min_confidence` sure. A missing file is `ModelMissing`; a file whose
    /// output is not one probability per class is `ModelInvalid`, found now rather than
    /// mid-shift.
    pub fn load(path: &Path, min_confidence: f32) -> Result<Self, RecognizeError> {
        let model = FixedModel::load(path, tract_onnx::onnx(), f32::fact([1, 3, STATE_H, STATE_W]).into())?;
        let reader = Self { model, min_confidence };
        reader.probabilities(&RgbImage::from_pixel(STATE_W as u32, STATE_H as u32, image::Rgb([128, 128, 128])))?;
        Ok(reader)
    }

    /// The confidence below which no state is named.
    pub fn min_confidence(&self) -> f32 {
        self.min_confidence
    }

    /// The class probabilities of a crop already sized `STATE_W` x `STATE_H`.
    pub fn probabilities(&self, crop: &RgbImage) -> Result<StateProbs, RecognizeError> {
        check_crop_size(crop, STATE_W, STATE_H, "state classifier")?;
        // Planar RGB scaled to 0-1, as the network was trained.
        let plane = STATE_H * STATE_W;
        let mut planar = vec![0.0f32; 3 * plane];
        for (i, px) in crop.pixels().enumerate() {
            for (c, v) in px.0.iter().enumerate() {
                planar[c * plane + i] = f32::from(*v) / 255.0;
            }
        }
        let input = Tensor::from_shape(&[1, 3, STATE_H, STATE_W], &planar)
            .map_err(|e| RecognizeError::Inference(format!("{e:#}")))?;
        let rows = self.model.rows::<CLASSES>(input, |n| n == 1, &format!("[1, 1, {CLASSES}] probabilities"))?;
        Ok(StateProbs(rows[0]))
    }

    /// The state of the plate in a crop sized `STATE_W` x `STATE_H`.
    pub fn read(&self, crop: &RgbImage) -> Result<StateRead, RecognizeError> {
        Ok(self.probabilities(crop)?.decide(self.min_confidence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probs(pairs: &[(Option<&str>, f32)]) -> StateProbs {
        let mut p = [0.0; CLASSES];
        for &(code, v) in pairs {
            p[code.and_then(state_index).unwrap_or(UNKNOWN)] = v;
        }
        StateProbs(p)
    }

    #[test]
    fn a_sure_state_is_named_with_its_runners_up() {
        let read = probs(&[(Some("TX"), 0.8), (Some("CA"), 0.1), (Some("NV"), 0.05), (None, 0.05)]).decide(0.5);
        assert_eq!(read.state, Some("TX"));
        assert!((read.confidence - 0.8).abs() < 1e-6);
        let codes: Vec<&str> = read.candidates.iter().map(|c| c.state).collect();
        assert_eq!(codes, ["TX", "CA", "NV"]);
    }

    #[test]
    fn an_unsure_state_or_a_likelier_unknown_names_none_but_keeps_the_candidates() {
        let unsure = probs(&[(Some("TX"), 0.45), (Some("CA"), 0.4), (None, 0.15)]).decide(0.5);
        assert_eq!(unsure.state, None);
        assert_eq!(unsure.candidates[0].state, "TX");
        let covered = probs(&[(Some("TX"), 0.35), (None, 0.6)]).decide(0.3);
        assert_eq!(covered.state, None, "unknown outweighs the state");
    }

    #[test]
    fn frames_are_averaged_before_deciding() {
        let a = probs(&[(Some("NY"), 0.9), (None, 0.1)]);
        let b = probs(&[(Some("NY"), 0.3), (Some("NJ"), 0.6), (None, 0.1)]);
        let mean = StateProbs::weighted_mean([(&a, 1.0), (&b, 1.0)]).unwrap();
        let read = mean.decide(0.5);
        assert_eq!(read.state, Some("NY"));
        assert!((read.confidence - 0.6).abs() < 1e-6);
        assert!(StateProbs::weighted_mean([]).is_none());
        let merged = StateRead::merge([(&a.decide(0.5), 1.0), (&b.decide(0.5), 1.0)]).unwrap();
        assert_eq!(merged.state, Some("NY"));
        assert_eq!(merged.min_confidence, 0.5);
        // Weighted: the heavier (nearer, larger) frame decides.
        let near_nj = StateRead::merge([(&a.decide(0.5), 1.0), (&b.decide(0.5), 9.0)]).unwrap();
        assert_eq!(near_nj.state, Some("NJ"));
        assert!(StateRead::merge([]).is_none());
        assert!(StateProbs::weighted_mean([(&a, 0.0)]).is_none());
    }

    #[test]
    fn codes_are_found_in_any_case_and_unknown_codes_are_unknown() {
        assert_eq!(StateProbs::certain(Some("ca")).decide(0.9).state, Some("CA"));
        assert_eq!(StateProbs::certain(Some("XX")).decide(0.1).state, None);
        assert_eq!(StateProbs::certain(None).decide(0.1).state, None);
        assert_eq!(STATE_CODES.len(), 51);
        assert!(STATE_CODES.windows(2).all(|w| w[0] < w[1]), "alphabetical, as trained");
    }

    #[test]
    fn a_missing_model_is_named() {
        let err = StateReader::load(Path::new("/nonexistent/plate_state.onnx"), 0.5).unwrap_err();
        assert!(err.to_string().contains("plate_state.onnx"), "{err}");
    }
}
