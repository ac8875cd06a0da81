//! The hit alert tone (rodio): a pattern per priority that repeats until the hit is
//! acknowledged. Without a sound device the console runs silent and says so.

use std::time::{Duration, Instant};

use rodio::source::{SineWave, Source};
use rodio::{DeviceSinkBuilder, MixerDeviceSink, Player};

/// The beeps of one alert: frequency, number of beeps, beep and gap lengths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pattern {
    /// Tone frequency (Hz).
    pub freq_hz: f32,
    /// Beeps per repetition.
    pub beeps: u32,
    /// Each beep.
    pub beep: Duration,
    /// Silence after each beep.
    pub gap: Duration,
}

impl Pattern {
    /// The pattern for a hit of `priority` (1 most urgent): more, faster, higher beeps for
    /// more urgent lists, so the officer hears the urgency without looking.
    pub fn for_priority(priority: i32) -> Self {
        match priority {
            ..=1 => {
                Self { freq_hz: 1320.0, beeps: 4, beep: Duration::from_millis(120), gap: Duration::from_millis(80) }
            }
            2 => Self { freq_hz: 1100.0, beeps: 3, beep: Duration::from_millis(160), gap: Duration::from_millis(120) },
            3 => Self { freq_hz: 880.0, beeps: 2, beep: Duration::from_millis(220), gap: Duration::from_millis(180) },
            _ => Self { freq_hz: 660.0, beeps: 1, beep: Duration::from_millis(350), gap: Duration::from_millis(0) },
        }
    }

    /// How long one repetition lasts.
    pub fn length(&self) -> Duration {
        (self.beep + self.gap) * self.beeps
    }
}

/// How often an unacknowledged hit sounds again.
pub const REPEAT: Duration = Duration::from_millis(2500);

/// One repetition of `pattern` at `volume` (0-1) as a single source: beeps and the silences
/// between them (silence is the same tone at zero gain, so the parts share one type).
pub fn pattern_source(pattern: Pattern, volume: f32) -> impl Source + Send + 'static {
    let part = move |length: Duration, gain: f32| {
        SineWave::new(pattern.freq_hz).take_duration(length).fade_in(Duration::from_millis(5)).amplify(gain)
    };
    rodio::source::from_iter((0..pattern.beeps).flat_map(move |_| [part(pattern.beep, volume), part(pattern.gap, 0.0)]))
}

/// Appends one repetition of `pattern` at `volume` (0-1) to `player`.
pub fn queue_pattern(player: &Player, pattern: Pattern, volume: f32) {
    player.append(pattern_source(pattern, volume));
}

/// The console's speaker: plays alert patterns, or records that there is no sound.
pub struct Tone {
    // Kept alive: dropping the sink stops the sound.
    _sink: Option<MixerDeviceSink>,
    player: Option<Player>,
    unavailable: Option<String>,
    volume: f32,
    last_start: Option<Instant>,
    /// When the current alarm's first tone was queued (for the read-to-tone latency).
    pub started_at: Option<Instant>,
}

impl std::fmt::Debug for Tone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tone").field("unavailable", &self.unavailable).field("volume", &self.volume).finish()
    }
}

impl Tone {
    /// Opens the default sound device; without one the tone is unavailable (no panic).
    pub fn open(volume: f32) -> Self {
        match DeviceSinkBuilder::open_default_sink() {
            Ok(mut sink) => {
                sink.log_on_drop(false);
                let player = Player::connect_new(sink.mixer());
                Self {
                    _sink: Some(sink),
                    player: Some(player),
                    unavailable: None,
                    volume,
                    last_start: None,
                    started_at: None,
                }
            }
            Err(err) => Self::silent(&format!("no sound device ({err})"), volume),
        }
    }

    /// A tone that never sounds (no device, or tests).
    pub fn silent(reason: &str, volume: f32) -> Self {
        tracing::warn!("alert tone unavailable: {reason}");
        Self {
            _sink: None,
            player: None,
            unavailable: Some(reason.to_owned()),
            volume,
            last_start: None,
            started_at: None,
        }
    }

    /// A tone into an in-process mixer (tests prove the samples are produced).
    pub fn with_player(player: Player, volume: f32) -> Self {
        Self { _sink: None, player: Some(player), unavailable: None, volume, last_start: None, started_at: None }
    }

    /// Why there is no sound, if there is none.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    /// Volume 0-1.
    pub fn volume(&self) -> f32 {
        self.volume
    }

    /// Sets the volume (0-1).
    pub fn set_volume(&mut self, volume: f32) {
        self.volume = volume.clamp(0.0, 1.0);
    }

    /// Keeps an alarm sounding: starts the pattern now if it is not playing and the last
    /// repetition began at least [`REPEAT`] ago. Call every frame while a hit is unacknowledged.
    pub fn alarm(&mut self, priority: i32, now: Instant) {
        let due = self.last_start.is_none_or(|t| now.duration_since(t) >= REPEAT);
        if !due {
            return;
        }
        self.last_start = Some(now);
        self.started_at.get_or_insert(now);
        if let Some(player) = &self.player {
            queue_pattern(player, Pattern::for_priority(priority), self.volume);
        }
    }

    /// Stops the alarm (acknowledged): the pattern in progress is cut.
    pub fn silence(&mut self) {
        if let Some(player) = &self.player {
            player.clear();
        }
        self.last_start = None;
        self.started_at = None;
    }

    /// Plays one repetition (settings' test tone).
    pub fn test(&mut self, priority: i32) {
        if let Some(player) = &self.player {
            queue_pattern(player, Pattern::for_priority(priority), self.volume);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_differ_by_priority() {
        let p: Vec<Pattern> = (1..=4).map(Pattern::for_priority).collect();
        for (i, a) in p.iter().enumerate() {
            for b in &p[i + 1..] {
                assert!(a.freq_hz != b.freq_hz && a.beeps != b.beeps);
            }
        }
        assert!(p.iter().all(|x| x.length() < REPEAT), "a repetition ends before the next is due");
    }

    #[test]
    fn a_pattern_is_its_beeps_and_silences() {
        for priority in 1..=4 {
            let pattern = Pattern::for_priority(priority);
            let samples: Vec<f32> = pattern_source(pattern, 0.5).collect();
            let expected = pattern.length().as_secs_f32() * 48_000.0;
            assert!(
                (samples.len() as f32 - expected).abs() < 48.0 * pattern.beeps as f32,
                "{} vs {expected}",
                samples.len()
            );
            let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            assert!(peak > 0.45 && peak <= 0.5, "loud at the volume asked: {peak}");
            if pattern.gap.is_zero() {
                continue;
            }
            // The gap after the first beep is silent.
            let beep_end = (pattern.beep.as_secs_f32() * 48_000.0) as usize;
            let gap: Vec<f32> =
                samples[beep_end + 10..beep_end + 10 + (pattern.gap.as_secs_f32() * 48_000.0) as usize / 2].to_vec();
            assert!(gap.iter().all(|s| s.abs() < 1e-6), "priority {priority}: silence between beeps");
        }
    }

    #[test]
    fn a_silent_tone_says_why_and_never_panics() {
        let mut tone = Tone::silent("no sound device", 0.5);
        tone.alarm(1, Instant::now());
        tone.test(2);
        tone.silence();
        assert_eq!(tone.unavailable(), Some("no sound device"));
    }
}
