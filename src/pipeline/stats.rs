//! Pipeline counters and the capture-to-read latency histogram, updated lock-free by every
//! thread and read as a [`StatsSnapshot`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Latencies are kept in 1 ms buckets up to this bound (the last bucket takes the rest), so
/// memory stays fixed however long the shift.
const LATENCY_BUCKETS: usize = 5000;

/// A fixed-size histogram of latencies in whole milliseconds.
#[derive(Debug)]
pub struct LatencyHistogram {
    buckets: Vec<AtomicU64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self { buckets: (0..LATENCY_BUCKETS).map(|_| AtomicU64::new(0)).collect() }
    }
}

impl LatencyHistogram {
    /// Counts one latency.
    pub fn record(&self, latency: Duration) {
        let millis = usize::try_from(latency.as_millis()).unwrap_or(usize::MAX).min(LATENCY_BUCKETS - 1);
        self.buckets[millis].fetch_add(1, Ordering::Relaxed);
    }

    /// The `q` quantile (0-1) in milliseconds (bucket middle), or 0 with no samples.
    pub fn quantile_millis(&self, q: f64) -> f64 {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (millis, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return millis as f64 + 0.5;
            }
        }
        LATENCY_BUCKETS as f64
    }
}

/// Counters shared by the pipeline's threads.
#[derive(Debug)]
pub struct PipelineStats {
    /// Frames delivered by the sources.
    pub captured: AtomicU64,
    /// Frames the workers finished reading.
    pub processed: AtomicU64,
    /// Frames replaced by a newer one before a worker took them.
    pub dropped: AtomicU64,
    /// Frames the source could not decode.
    pub corrupt: AtomicU64,
    /// Frames the reader returned an error for.
    pub reader_errors: AtomicU64,
    /// Worker panics (each worker restarts).
    pub worker_panics: AtomicU64,
    /// Vehicle-pass reads published.
    pub reads: AtomicU64,
    /// Read events a subscriber did not take in time.
    pub undelivered: AtomicU64,
    /// Capture to per-frame read latency.
    pub latency: LatencyHistogram,
    started: Instant,
}

impl Default for PipelineStats {
    fn default() -> Self {
        Self {
            captured: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
            reader_errors: AtomicU64::new(0),
            worker_panics: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            undelivered: AtomicU64::new(0),
            latency: LatencyHistogram::default(),
            started: Instant::now(),
        }
    }
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsSnapshot {
    /// Frames delivered by the sources.
    pub frames: u64,
    /// Frames read.
    pub processed: u64,
    /// Frames dropped because a newer one arrived first.
    pub dropped: u64,
    /// Corrupt frames skipped.
    pub corrupt: u64,
    /// Frames the reader failed on.
    pub reader_errors: u64,
    /// Worker panics.
    pub worker_panics: u64,
    /// Vehicle-pass reads published.
    pub reads: u64,
    /// Read events a subscriber did not take in time.
    pub undelivered: u64,
    /// Frames waiting for a worker plus results waiting for the tracker.
    pub queue_depth: usize,
    /// Seconds since the pipeline started.
    pub elapsed_secs: f64,
    /// Frames read per second since the start.
    pub fps: f64,
    /// Median capture-to-read latency, ms.
    pub latency_ms_p50: f64,
    /// 95th percentile capture-to-read latency, ms.
    pub latency_ms_p95: f64,
}

impl PipelineStats {
    /// The counters now; `queue_depth` is supplied by the pipeline.
    pub fn snapshot(&self, queue_depth: usize) -> StatsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let elapsed_secs = self.started.elapsed().as_secs_f64();
        let processed = load(&self.processed);
        StatsSnapshot {
            frames: load(&self.captured),
            processed,
            dropped: load(&self.dropped),
            corrupt: load(&self.corrupt),
            reader_errors: load(&self.reader_errors),
            worker_panics: load(&self.worker_panics),
            reads: load(&self.reads),
            undelivered: load(&self.undelivered),
            queue_depth,
            elapsed_secs,
            fps: if elapsed_secs > 0.0 { processed as f64 / elapsed_secs } else { 0.0 },
            latency_ms_p50: self.latency.quantile_millis(0.5),
            latency_ms_p95: self.latency.quantile_millis(0.95),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_known_latencies() {
        let h = LatencyHistogram::default();
        assert_eq!(h.quantile_millis(0.5), 0.0);
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.quantile_millis(0.5), 50.5);
        assert_eq!(h.quantile_millis(0.95), 95.5);
        h.record(Duration::from_secs(3600));
        assert_eq!(h.quantile_millis(1.0), (LATENCY_BUCKETS - 1) as f64 + 0.5);
    }
}
