//! The matcher and the store behind `run --headless`: every read the tracker publishes goes
//! through the same [`Matcher`] as in the console (matched, committed, a hit raised with its
//! evidence), with no screen at all, and the run counts what was stored and how long a hit
//! took to be committed.
//!
//! Simulated traffic goes to a throwaway store (encrypted with a random key in a temporary
//! folder, deleted at the end) so that it never enters the agency's records; reads from a
//! camera or a recording go to the data dir's store, in a shift of the logged-on user with ALPR
//! active, as the console would record them.

use std::io::Write;
use std::sync::Arc;

use chrono::Utc;
use crossbeam_channel::{Receiver, Sender, bounded};
use serde::Serialize;

use super::matcher::{Matched, Matcher, MatcherCommand, MatcherSignals, NewHit, Timing};
use super::{Clock, percentiles};
use crate::hotlist::{Hit, Hotlists};
use crate::location::Locator;
use crate::pipeline::ReadEvent;
use crate::pipeline::headless::{ReadRecorder, RecordedCounts};
use crate::store::{KeySource, Store, StoreError, StoreKeys};

/// Why a recorder did not start.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// The store could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The temporary folder or the matcher's thread could not be made.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What the recorder needs to know besides the store.
pub struct RecorderOptions {
    /// The hot lists reads are matched against.
    pub hotlists: Arc<Hotlists>,
    /// Stamps reads with the car's position.
    pub locator: Option<Arc<Locator>>,
    /// Whom the reads are recorded for.
    pub officer: String,
    /// A decided hit stays quiet this long (headless runs decide none: every repeat of a
    /// listed plate is stored on its open hit, as in the console).
    pub quiet: chrono::Duration,
}

/// A [`ReadRecorder`] that commits through the console's matcher.
pub struct StoreRecorder {
    matcher: Option<Matcher>,
    reads: Option<Sender<ReadEvent>>,
    matched: Receiver<Matched>,
    store: Arc<Store>,
    /// The shift the reads are recorded in, and for whom; closed at the finish.
    shift_id: i64,
    officer: String,
    /// Whether ALPR was marked active in the shift (a real store), to be closed at the finish.
    activated: bool,
    finished: bool,
    label: String,
    stored: u64,
    not_stored: u64,
    /// Reads handed to the matcher, and how many of them came back.
    handed: u64,
    returned: u64,
    /// Reads handed on before the run began to stop (the later ones are not timed).
    timed_reads: Option<u64>,
    read_frame: Vec<f64>,
    hit_frame: Vec<f64>,
    hit_pass: Vec<f64>,
    hit_commit: Vec<f64>,
    /// Dropped last: removes the throwaway store's files once the store is closed.
    _throwaway: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for StoreRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreRecorder").field("store", &self.label).field("stored", &self.stored).finish()
    }
}

impl StoreRecorder {
    /// Records into a new throwaway store (for simulated traffic): encrypted with a random
    /// key, in a temporary folder removed when the recorder is dropped.
    pub fn throwaway(options: RecorderOptions) -> Result<Self, RecorderError> {
        let dir = tempfile::Builder::new().prefix("patrol-alpr-throwaway-").tempdir()?;
        let secret = crate::store::key::random_secret();
        let keys = StoreKeys::derive(&secret, dir.path(), KeySource::Environment).map_err(StoreError::from)?;
        let store = Arc::new(Store::open(dir.path(), keys, "simulated traffic")?);
        let shift_id = store.start_shift(&options.officer, Utc::now())?;
        let mut recorder = Self::start(store, shift_id, "throwaway", options)?;
        recorder._throwaway = Some(dir);
        Ok(recorder)
    }

    /// Records into `store` (the data dir's): opens a shift for the officer and marks ALPR
    /// active in it (audited), as the console does; both are closed by [`ReadRecorder::finish`].
    pub fn in_shift(store: Arc<Store>, options: RecorderOptions) -> Result<Self, RecorderError> {
        let now = Utc::now();
        let shift_id = store.start_shift(&options.officer, now)?;
        store.activate(shift_id, &options.officer, now)?;
        let label = store.data_dir().display().to_string();
        let mut recorder = Self::start(store, shift_id, &label, options)?;
        recorder.activated = true;
        Ok(recorder)
    }

    fn start(store: Arc<Store>, shift_id: i64, label: &str, options: RecorderOptions) -> Result<Self, RecorderError> {
        let (tx, matched) = bounded::<Matched>(256);
        let RecorderOptions { hotlists, locator, officer, quiet } = options;
        let matcher = Matcher::start(
            Arc::clone(&store),
            hotlists,
            locator,
            Clock::system(),
            quiet,
            tx,
            MatcherSignals::default(),
        )?;
        matcher.send(MatcherCommand::Recording(Some((officer.clone(), shift_id))));
        // `officer` is kept to close the shift's activation at the finish.
        let reads = matcher.reads();
        Ok(Self {
            matcher: Some(matcher),
            reads,
            matched,
            store,
            shift_id,
            officer,
            activated: false,
            finished: false,
            label: label.to_owned(),
            stored: 0,
            not_stored: 0,
            handed: 0,
            returned: 0,
            timed_reads: None,
            read_frame: Vec::new(),
            hit_frame: Vec::new(),
            hit_pass: Vec::new(),
            hit_commit: Vec::new(),
            _throwaway: None,
        })
    }

    /// Counts one message from the matcher and writes its line, if it has one.
    fn take(&mut self, matched: Matched, out: &mut dyn Write) -> std::io::Result<()> {
        match matched {
            Matched::Read(read, timing) => {
                self.count_read(read.id, timing);
            }
            Matched::Hit(new) => {
                let NewHit { record, hit, read, timing, .. } = *new;
                if self.count_read(read.id, timing) {
                    self.hit_frame.push(timing.frame_ms);
                    self.hit_pass.push(timing.latency_ms);
                    self.hit_commit.push(timing.commit_ms);
                }
                let line = HitLine {
                    r#type: "hit",
                    hit_id: record.id,
                    read_id: read.id,
                    camera: &read.camera,
                    text: &read.text,
                    frame_ms: round(timing.frame_ms),
                    pass_ms: round(timing.latency_ms),
                    commit_ms: round(timing.commit_ms),
                    hit: &hit,
                };
                writeln!(out, "{}", serde_json::to_string(&line).map_err(std::io::Error::other)?)?;
            }
            Matched::Failed(message) => {
                let line = ErrorLine { r#type: "store_error", message: &message };
                writeln!(out, "{}", serde_json::to_string(&line).map_err(std::io::Error::other)?)?;
            }
        }
        Ok(())
    }

    /// Counts a read the matcher is done with; true when its timing counts (it was handed
    /// on before the run began to stop).
    fn count_read(&mut self, id: i64, timing: Timing) -> bool {
        self.returned += 1;
        let timed = self.timed_reads.is_none_or(|n| self.returned <= n);
        if id > 0 {
            self.stored += 1;
            if timed {
                self.read_frame.push(timing.frame_ms);
            }
        } else {
            self.not_stored += 1;
        }
        timed
    }
}

impl ReadRecorder for StoreRecorder {
    fn record(&mut self, event: ReadEvent) {
        // A closed channel means the matcher stopped (it panicked): the read is counted as
        // not stored rather than dropped silently.
        if self.reads.as_ref().is_none_or(|tx| tx.send(event).is_err()) {
            self.not_stored += 1;
        } else {
            self.handed += 1;
        }
    }

    fn stopping(&mut self) {
        self.timed_reads = Some(self.handed);
    }

    fn poll(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        while let Ok(matched) = self.matched.try_recv() {
            self.take(matched, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> std::io::Result<RecordedCounts> {
        // Closing the matcher's inputs lets it drain what it holds and stop; its messages are
        // taken here meanwhile (it waits on a full channel), until it has gone.
        self.reads.take();
        let matcher = self.matcher.take();
        let stopper = std::thread::Builder::new().name("matcher-stop".into()).spawn(move || drop(matcher))?;
        while let Ok(matched) = self.matched.recv() {
            self.take(matched, out)?;
        }
        if stopper.join().is_err() {
            return Err(std::io::Error::other("the matcher thread panicked"));
        }
        if !self.finished {
            self.finished = true;
            let now = Utc::now();
            if self.activated {
                self.store
                    .deactivate(self.shift_id, &self.officer, now, "headless run ended")
                    .map_err(std::io::Error::other)?;
            }
            self.store.end_shift(self.shift_id, now).map_err(std::io::Error::other)?;
        }
        let reads = percentiles(self.read_frame.iter().copied());
        let hits = percentiles(self.hit_frame.iter().copied());
        let passes = percentiles(self.hit_pass.iter().copied());
        let commits = percentiles(self.hit_commit.iter().copied());
        Ok(RecordedCounts {
            store: self.label.clone(),
            reads_stored: self.stored,
            reads_not_stored: self.not_stored,
            hits: self.hit_frame.len() as u64,
            read_committed_ms_p50: reads.map(|p| round(p.0)),
            read_committed_ms_p95: reads.map(|p| round(p.1)),
            hit_committed_ms_p50: hits.map(|p| round(p.0)),
            hit_committed_ms_p95: hits.map(|p| round(p.1)),
            hit_after_pass_ms_p50: passes.map(|p| round(p.0)),
            hit_after_pass_ms_p95: passes.map(|p| round(p.1)),
            hit_commit_ms_p50: commits.map(|p| round(p.0)),
            hit_commit_ms_p95: commits.map(|p| round(p.1)),
        })
    }
}

impl Drop for StoreRecorder {
    /// A run that ends early (its output closed, an error) still stops the matcher and
    /// closes the shift and its activation, so no activation stays open in the store.
    fn drop(&mut self) {
        if !self.finished
            && let Err(err) = self.finish(&mut std::io::sink())
        {
            tracing::error!("closing the headless run's shift: {err}");
        }
    }
}

fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

/// A hit committed by the matcher, as a headless line.
#[derive(Serialize)]
struct HitLine<'a> {
    r#type: &'static str,
    hit_id: i64,
    read_id: i64,
    camera: &'a str,
    text: &'a str,
    /// From the capture of the frame that closed the pass to the hit committed.
    frame_ms: f64,
    /// From the last frame showing the vehicle to the hit committed.
    pass_ms: f64,
    /// The matcher's own part.
    commit_ms: f64,
    hit: &'a Hit,
}

/// A read or hit the store refused.
#[derive(Serialize)]
struct ErrorLine<'a> {
    r#type: &'static str,
    message: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotlist::HotlistConfig;
    use crate::store::testing::temp_store;

    fn options() -> RecorderOptions {
        let list = super::super::demo::demo_list(&HotlistConfig::default(), Utc::now()).unwrap();
        RecorderOptions {
            hotlists: Arc::new(Hotlists::new(list)),
            locator: None,
            officer: "o1".into(),
            quiet: chrono::Duration::minutes(5),
        }
    }

    fn open_activations(store: &Store) -> i64 {
        store
            .read(|conn| Ok(conn.query_row("SELECT count(*) FROM activations WHERE end_ms IS NULL", [], |r| r.get(0))?))
            .unwrap()
    }

    #[test]
    fn a_run_that_ends_early_still_closes_its_shift_and_activation() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let recorder = StoreRecorder::in_shift(Arc::clone(&store), options()).unwrap();
        assert_eq!(open_activations(&store), 1);
        drop(recorder);
        assert_eq!(open_activations(&store), 0, "closed on drop");
        let open_shifts: i64 = store
            .read(|conn| Ok(conn.query_row("SELECT count(*) FROM shifts WHERE end_ms IS NULL", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(open_shifts, 0);
    }

    #[test]
    fn a_finished_run_is_closed_once() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let mut recorder = StoreRecorder::in_shift(Arc::clone(&store), options()).unwrap();
        let counts = recorder.finish(&mut std::io::sink()).unwrap();
        assert_eq!((counts.reads_stored, counts.hits), (0, 0));
        drop(recorder);
        let deactivations: i64 = store
            .read(|conn| {
                Ok(conn.query_row("SELECT count(*) FROM audit_log WHERE action = 'deactivate'", [], |r| r.get(0))?)
            })
            .unwrap();
        assert_eq!(deactivations, 1, "one deactivation, not one more on drop");
    }
}
