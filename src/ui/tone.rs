//! The hit alert tone (rodio): a pattern per priority that repeats until the hit is
//! acknowledged. Without a sound device the console runs silent and says so.

use std::sync::{Arc, Mutex};
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

/// What the speaker is doing: shared by the UI thread (which keeps an alarm repeating and
/// silences it) and the matcher's thread (which starts it the moment a hit is committed).
#[derive(Debug)]
struct Playing {
    volume: f32,
    last_start: Option<Instant>,
    /// When the current alarm's first tone was queued (for the read-to-tone latency).
    started_at: Option<Instant>,
}

struct Speaker {
    player: Option<Player>,
    playing: Mutex<Playing>,
}

impl Speaker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Playing> {
        // A panic while holding this lock leaves plain numbers behind: keep using them.
        self.playing.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn alarm(&self, priority: i32, now: Instant) {
        let mut playing = self.lock();
        let due = playing.last_start.is_none_or(|t| now.saturating_duration_since(t) >= REPEAT);
        if !due {
            return;
        }
        playing.last_start = Some(now);
        playing.started_at.get_or_insert(now);
        if let Some(player) = &self.player {
            queue_pattern(player, Pattern::for_priority(priority), playing.volume);
        }
    }
}

/// The console's speaker: plays alert patterns, or records that there is no sound.
pub struct Tone {
    // Kept alive: dropping the sink stops the sound.
    _sink: Option<MixerDeviceSink>,
    speaker: Arc<Speaker>,
    unavailable: Option<String>,
}

/// Starts the alarm from any thread: the matcher calls it the moment a hit is committed, so
/// the officer hears the hit even when the window is not being drawn. The UI keeps the alarm
/// repeating and silences it; a start while a repetition plays does nothing.
#[derive(Clone)]
pub struct ToneStarter(Arc<Speaker>);

impl ToneStarter {
    /// Starts the alarm for a hit of `priority` now, unless one is already sounding.
    pub fn start(&self, priority: i32) {
        self.0.alarm(priority, Instant::now());
    }
}

impl std::fmt::Debug for ToneStarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToneStarter").field("sound", &self.0.player.is_some()).finish()
    }
}

impl std::fmt::Debug for Tone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tone").field("unavailable", &self.unavailable).field("volume", &self.volume()).finish()
    }
}

impl Tone {
    fn with(sink: Option<MixerDeviceSink>, player: Option<Player>, unavailable: Option<String>, volume: f32) -> Self {
        let playing = Mutex::new(Playing { volume, last_start: None, started_at: None });
        Self { _sink: sink, speaker: Arc::new(Speaker { player, playing }), unavailable }
    }

    /// Opens the default sound device; without one the tone is unavailable (no panic).
    pub fn open(volume: f32) -> Self {
        match DeviceSinkBuilder::open_default_sink() {
            Ok(mut sink) => {
                sink.log_on_drop(false);
                let player = Player::connect_new(sink.mixer());
                Self::with(Some(sink), Some(player), None, volume)
            }
            Err(err) => Self::silent(&format!("no sound device ({err})"), volume),
        }
    }

    /// A tone that never sounds (no device, or tests).
    pub fn silent(reason: &str, volume: f32) -> Self {
        tracing::warn!("alert tone unavailable: {reason}");
        Self::with(None, None, Some(reason.to_owned()), volume)
    }

    /// A tone into an in-process mixer (tests prove the samples are produced).
    pub fn with_player(player: Player, volume: f32) -> Self {
        Self::with(None, Some(player), None, volume)
    }

    /// A handle that starts the alarm from another thread (the matcher's hit hook).
    pub fn starter(&self) -> ToneStarter {
        ToneStarter(Arc::clone(&self.speaker))
    }

    /// Why there is no sound, if there is none.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    /// Volume 0-1.
    pub fn volume(&self) -> f32 {
        self.speaker.lock().volume
    }

    /// Sets the volume (0-1).
    pub fn set_volume(&mut self, volume: f32) {
        self.speaker.lock().volume = volume.clamp(0.0, 1.0);
    }

    /// When the current alarm's first tone was queued, if one is sounding.
    pub fn started_at(&self) -> Option<Instant> {
        self.speaker.lock().started_at
    }

    /// Keeps an alarm sounding: starts the pattern now if it is not playing and the last
    /// repetition began at least [`REPEAT`] ago. Call every frame while a hit is unacknowledged.
    pub fn alarm(&mut self, priority: i32, now: Instant) {
        self.speaker.alarm(priority, now);
    }

    /// Stops the alarm (acknowledged): the pattern in progress is cut.
    pub fn silence(&mut self) {
        let mut playing = self.speaker.lock();
        if let Some(player) = &self.speaker.player {
            player.clear();
        }
        playing.last_start = None;
        playing.started_at = None;
    }

    /// Plays one repetition (settings' test tone).
    pub fn test(&mut self, priority: i32) {
        let volume = self.volume();
        if let Some(player) = &self.speaker.player {
            queue_pattern(player, Pattern::for_priority(priority), volume);
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

    /// The matcher's thread starts the alarm; the UI's next frame does not start it again
    /// within a repetition, and acknowledging silences it for the next start.
    #[test]
    fn the_alarm_starts_from_another_thread_once_per_repetition() {
        let mut tone = Tone::silent("test", 0.5);
        let starter = tone.starter();
        std::thread::spawn(move || starter.start(1)).join().unwrap();
        let started = tone.started_at().expect("started from the matcher's thread");
        tone.alarm(1, started + Duration::from_millis(100));
        assert_eq!(tone.speaker.lock().last_start, Some(started), "not restarted within a repetition");
        tone.alarm(1, started + REPEAT);
        assert_eq!(tone.speaker.lock().last_start, Some(started + REPEAT), "repeats after REPEAT");
        assert_eq!(tone.started_at(), Some(started), "the alarm's start is kept for the latency");
        tone.silence();
        assert_eq!(tone.started_at(), None);
        tone.set_volume(2.0);
        assert_eq!(tone.volume(), 1.0);
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
