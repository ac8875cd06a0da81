//! Plate-format rules of a region, applied to every reading after the networks: what the
//! issuing authorities print, not what any benchmark's labels say.
//!
//! `us`: many US states leave the letter O out of their standard-issue serial series (with I
//! and Q in many), because an O cannot be told from a 0 at a glance, by an officer or a camera;
//! the readers, trained on plates of many countries, still say O now and then where such a
//! plate has a 0, and the rule reads every O as 0. Not every state does so (of the 745 labelled
//! US crops in the development data, 16 carry an O, such as Arkansas `355OCT`), so the rule is
//! off by default (`none`): on the US validation crops it changed nothing, on European plates
//! it costs reads. With it on, a plate that does carry an O is shown and stored with a 0, but
//! the reading as the network saw it stays the second candidate, so a listed `GO4IT` still
//! matches exactly (the hot-list matcher tries every candidate, and its default equivalence
//! classes hold 0 and O together besides).

use serde::{Deserialize, Serialize};

use super::Candidate;
use super::ocr::TextRead;

/// The plate-format rules in force (`[recognizer] region`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// US plates: the letter O is read as the digit 0.
    Us,
    /// No rule: every character as read.
    #[default]
    None,
}

impl Region {
    /// Applies the region's rules to a reading: its text, and every candidate (candidates
    /// that become the same text are merged, their probabilities added). The best text as
    /// read, when the rule changed it, follows as the second candidate.
    pub fn apply(self, read: &mut TextRead) {
        match self {
            Self::None => {}
            Self::Us => {
                let as_read = read.candidates.first().filter(|c| c.text.contains('O')).cloned();
                read.text = letter_o_as_zero(&read.text);
                let mut merged: Vec<Candidate> = Vec::with_capacity(read.candidates.len());
                for candidate in read.candidates.drain(..) {
                    let text = letter_o_as_zero(&candidate.text);
                    match merged.iter_mut().find(|c| c.text == text) {
                        Some(kept) => kept.confidence = (kept.confidence + candidate.confidence).min(1.0),
                        None => merged.push(Candidate { text, confidence: candidate.confidence }),
                    }
                }
                merged.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
                // The best text's confidence is its candidate's, merged.
                if let Some(best) = merged.iter().find(|c| c.text == read.text) {
                    read.confidence = read.confidence.max(best.confidence);
                }
                if let Some(as_read) = as_read {
                    merged.insert(1.min(merged.len()), as_read);
                }
                read.candidates = merged;
            }
        }
    }
}

fn letter_o_as_zero(text: &str) -> String {
    text.replace('O', "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(text: &str, candidates: &[(&str, f32)]) -> TextRead {
        TextRead {
            text: text.into(),
            confidence: candidates.first().map_or(0.0, |c| c.1),
            char_confidences: vec![0.9; text.len()],
            candidates: candidates.iter().map(|&(t, p)| Candidate { text: t.into(), confidence: p }).collect(),
            text_probability: 0.95,
            span: None,
        }
    }

    #[test]
    fn us_reads_the_letter_o_as_zero_and_merges_what_becomes_equal() {
        let mut read = reading("7OBC1O3", &[("7OBC1O3", 0.5), ("70BC103", 0.3), ("7DBC1O3", 0.1)]);
        Region::Us.apply(&mut read);
        assert_eq!(read.text, "70BC103");
        let texts: Vec<(&str, f32)> = read.candidates.iter().map(|c| (c.text.as_str(), c.confidence)).collect();
        assert_eq!(texts.len(), 3);
        assert_eq!(texts[0].0, "70BC103");
        assert!((texts[0].1 - 0.8).abs() < 1e-6);
        // The reading as the network saw it stays next, for a listed plate that has an O.
        assert_eq!(texts[1], ("7OBC1O3", 0.5));
        assert_eq!(texts[2].0, "7DBC103");
        assert!((read.confidence - 0.8).abs() < 1e-6, "the merged text is as sure as its readings together");
        // Only O: D, Q, I and every other character stay as read.
        let mut other = reading("DQI1", &[("DQI1", 0.9)]);
        Region::Us.apply(&mut other);
        assert_eq!(other.text, "DQI1");
    }

    #[test]
    fn none_keeps_every_character() {
        let mut read = reading("GO4IT", &[("GO4IT", 0.6), ("G04IT", 0.3)]);
        let before = read.clone();
        Region::None.apply(&mut read);
        assert_eq!(read, before);
    }

    #[test]
    fn the_setting_is_spelled_in_lowercase() {
        #[derive(Deserialize)]
        struct S {
            region: Region,
        }
        let parsed: S = toml::from_str("region = \"none\"").unwrap();
        assert_eq!(parsed.region, Region::None);
        assert!(toml::from_str::<S>("region = \"mars\"").is_err());
    }
}
