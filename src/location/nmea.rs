//! NMEA 0183 from a GPS receiver without gpsd: a serial device (or a recorded file) read line
//! by line. GGA, RMC and VTG sentences are used; every sentence's checksum is checked, and a
//! bad one (garbage, truncated, wrong checksum, impossible coordinates) is skipped and counted,
//! never a panic or a wrong place.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::{Fix, ReceiverThread, SharedTrack};

/// What one sentence gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Sentence {
    /// A position (GGA with a fix, or RMC valid), with the satellites used when GGA says.
    Fix(Fix, Option<u8>),
    /// Course and speed only (VTG).
    Motion {
        /// Course over ground, degrees true.
        heading_deg: Option<f32>,
        /// Ground speed, m/s.
        speed_mps: Option<f32>,
    },
    /// A valid sentence that says there is no fix (GGA quality 0, RMC status V).
    NoFix,
    /// A valid sentence of a kind not used here (GSV, GSA...).
    Other,
}

/// Why a line was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NmeaError {
    /// Not `$...*HH`.
    #[error("not an NMEA sentence")]
    Malformed,
    /// The checksum does not match.
    #[error("bad checksum")]
    Checksum,
    /// A field is missing or not a number, or the coordinates are impossible.
    #[error("bad field: {0}")]
    Field(&'static str),
}

/// Parses one line. `date` is the UTC date of the last RMC (GGA carries only the time of day);
/// without one, today's date is used.
pub fn parse(line: &str, date: Option<NaiveDate>) -> Result<Sentence, NmeaError> {
    let line = line.trim();
    let body = line.strip_prefix('$').ok_or(NmeaError::Malformed)?;
    let (body, checksum) = body.rsplit_once('*').ok_or(NmeaError::Malformed)?;
    let expected =
        u8::from_str_radix(checksum.get(..2).ok_or(NmeaError::Malformed)?, 16).map_err(|_| NmeaError::Malformed)?;
    if !body.is_ascii() || body.bytes().fold(0u8, |x, b| x ^ b) != expected {
        return Err(NmeaError::Checksum);
    }
    let fields: Vec<&str> = body.split(',').collect();
    let kind = fields.first().filter(|k| k.len() == 5).map(|k| &k[2..]).ok_or(NmeaError::Malformed)?;
    let field = |i: usize| fields.get(i).copied().unwrap_or("");
    match kind {
        "GGA" => {
            if field(6).is_empty() || field(6) == "0" {
                return Ok(Sentence::NoFix);
            }
            let date = date.unwrap_or_else(|| Utc::now().date_naive());
            let time = utc(date, field(1))?;
            let (lat, lon) = coordinates(field(2), field(3), field(4), field(5))?;
            let satellites = field(7).parse::<u8>().ok();
            // HDOP times a typical 5 m range error: a rough horizontal accuracy, the best GGA
            // offers (gpsd reports a proper one).
            let accuracy_m = field(8).parse::<f32>().ok().filter(|h| h.is_finite() && *h > 0.0).map(|h| h * 5.0);
            Ok(Sentence::Fix(Fix { accuracy_m, ..Fix::at(time, lat, lon) }, satellites))
        }
        "RMC" => {
            if field(2) != "A" {
                return Ok(Sentence::NoFix);
            }
            let date = NaiveDate::parse_from_str(field(9), "%d%m%y").map_err(|_| NmeaError::Field("date"))?;
            let time = utc(date, field(1))?;
            let (lat, lon) = coordinates(field(3), field(4), field(5), field(6))?;
            let speed_mps =
                field(7).parse::<f32>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(|knots| knots * 0.514_444);
            let heading_deg = field(8).parse::<f32>().ok().filter(|c| (0.0..=360.0).contains(c));
            Ok(Sentence::Fix(Fix { speed_mps, heading_deg, ..Fix::at(time, lat, lon) }, None))
        }
        "VTG" => Ok(Sentence::Motion {
            heading_deg: field(1).parse::<f32>().ok().filter(|c| (0.0..=360.0).contains(c)),
            speed_mps: field(7).parse::<f32>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(|kmh| kmh / 3.6),
        }),
        _ => Ok(Sentence::Other),
    }
}

/// `hhmmss.ss` on `date`, UTC.
fn utc(date: NaiveDate, text: &str) -> Result<DateTime<Utc>, NmeaError> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.len() != 6 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NmeaError::Field("time"));
    }
    let number = |r: std::ops::Range<usize>| whole[r].parse::<u32>().map_err(|_| NmeaError::Field("time"));
    let millis = format!("{fraction:0<3}").get(..3).and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
    let time = NaiveTime::from_hms_milli_opt(number(0..2)?, number(2..4)?, number(4..6)?, millis)
        .ok_or(NmeaError::Field("time"))?;
    Ok(date.and_time(time).and_utc())
}

/// `ddmm.mmmm`,`N|S`,`dddmm.mmmm`,`E|W` to signed degrees.
fn coordinates(lat: &str, ns: &str, lon: &str, ew: &str) -> Result<(f64, f64), NmeaError> {
    let degrees = |text: &str, degree_digits: usize| -> Option<f64> {
        let deg = text.get(..degree_digits)?.parse::<f64>().ok()?;
        let min = text.get(degree_digits..)?.parse::<f64>().ok()?;
        (min.is_finite() && (0.0..60.0).contains(&min)).then(|| deg + min / 60.0)
    };
    let lat = degrees(lat, 2).ok_or(NmeaError::Field("latitude"))?;
    let lon = degrees(lon, 3).ok_or(NmeaError::Field("longitude"))?;
    let lat = match ns {
        "N" => lat,
        "S" => -lat,
        _ => return Err(NmeaError::Field("latitude hemisphere")),
    };
    let lon = match ew {
        "E" => lon,
        "W" => -lon,
        _ => return Err(NmeaError::Field("longitude hemisphere")),
    };
    if lat.abs() > 90.0 || lon.abs() > 180.0 {
        return Err(NmeaError::Field("coordinates out of range"));
    }
    Ok((lat, lon))
}

/// Feeds parsed sentences into the track: RMC sets the date, GGA and RMC of the same second
/// merge into one fix, VTG completes the newest.
#[derive(Debug, Default)]
pub struct Assembler {
    date: Option<NaiveDate>,
    motion: (Option<f32>, Option<f32>),
}

impl Assembler {
    /// Takes one line into `shared`; true when it was usable.
    pub fn feed(&mut self, line: &str, shared: &SharedTrack) -> bool {
        let parsed = parse(line, self.date);
        let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
        match parsed {
            Ok(Sentence::Fix(mut fix, satellites)) => {
                if fix.speed_mps.is_some() {
                    self.date = Some(fix.time.date_naive());
                }
                fix.heading_deg = fix.heading_deg.or(self.motion.0);
                fix.speed_mps = fix.speed_mps.or(self.motion.1);
                shared.track.merge(fix);
                if satellites.is_some() {
                    shared.health.satellites = satellites;
                }
                shared.health.latest = shared.track.latest().copied();
                true
            }
            Ok(Sentence::Motion { heading_deg, speed_mps }) => {
                self.motion = (heading_deg, speed_mps);
                true
            }
            Ok(Sentence::NoFix | Sentence::Other) => true,
            Err(_) => {
                shared.health.bad += 1;
                false
            }
        }
    }
}

/// Reads `path` (a device or a recorded file) into `shared` on a named thread until the
/// returned handle is dropped. A device that cannot be opened is retried every 2 s (a puck
/// plugged in later); a file ends at its end. A blocked device read ends with the next
/// sentence (once a second), so stopping waits at most that.
pub fn start(path: &Path, shared: SharedTrack) -> std::io::Result<ReceiverThread> {
    let path = path.to_path_buf();
    shared.lock().unwrap_or_else(PoisonError::into_inner).health.source = format!("NMEA {}", path.display());
    ReceiverThread::spawn("gps-nmea", move |stop| read_loop(&path, &shared, stop))
}

fn read_loop(path: &PathBuf, shared: &SharedTrack, stop: &AtomicBool) {
    let mut assembler = Assembler::default();
    while !stop.load(Ordering::Relaxed) {
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(err) => {
                let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
                s.health.connected = false;
                s.health.problem = Some(format!("{}: {err}", path.display()));
                drop(s);
                std::thread::sleep(Duration::from_secs(2));
                continue;
            }
        };
        {
            let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
            s.health.connected = true;
            s.health.problem = None;
        }
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    assembler.feed(&String::from_utf8_lossy(&line), shared);
                }
                Err(err) => {
                    shared.lock().unwrap_or_else(PoisonError::into_inner).health.problem = Some(err.to_string());
                    break;
                }
            }
        }
        shared.lock().unwrap_or_else(PoisonError::into_inner).health.connected = false;
        if regular {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adds the checksum to a sentence body.
    fn sentence(body: &str) -> String {
        format!("${body}*{:02X}", body.bytes().fold(0u8, |x, b| x ^ b))
    }

    #[test]
    fn gga_rmc_and_vtg_give_the_fix_speed_and_course() {
        let rmc = sentence("GPRMC,081836.50,A,3344.9380,N,11811.6260,W,12.5,087.3,021226,,,A");
        let Sentence::Fix(fix, _) = parse(&rmc, None).unwrap() else { panic!("{rmc}") };
        assert_eq!(fix.time.to_rfc3339(), "2026-12-02T08:18:36.500+00:00");
        assert!((fix.lat - 33.748_966).abs() < 1e-5 && (fix.lon + 118.193_766).abs() < 1e-5, "{fix:?}");
        assert!((fix.speed_mps.unwrap() - 6.430_55).abs() < 1e-3);
        assert_eq!(fix.heading_deg, Some(87.3));
        let date = NaiveDate::from_ymd_opt(2026, 12, 2);
        let gga = sentence("GPGGA,081837.00,3344.9400,N,11811.6200,W,1,09,0.9,12.1,M,-34.0,M,,");
        let Sentence::Fix(fix, satellites) = parse(&gga, date).unwrap() else { panic!("{gga}") };
        assert_eq!((satellites, fix.accuracy_m), (Some(9), Some(4.5)));
        assert_eq!(fix.time.to_rfc3339(), "2026-12-02T08:18:37+00:00");
        let vtg = sentence("GPVTG,90.0,T,,M,10.0,N,18.0,K,A");
        assert_eq!(parse(&vtg, date).unwrap(), Sentence::Motion { heading_deg: Some(90.0), speed_mps: Some(5.0) });
        assert_eq!(parse(&sentence("GPGGA,081838.00,,,,,0,00,,,M,,M,,"), date).unwrap(), Sentence::NoFix);
        assert_eq!(parse(&sentence("GPRMC,081838.00,V,,,,,,,021226,,,N"), date).unwrap(), Sentence::NoFix);
        assert_eq!(parse(&sentence("GPGSV,3,1,11,01,40,083,46"), date).unwrap(), Sentence::Other);
    }

    #[test]
    fn bad_sentences_are_refused_and_counted_never_a_panic() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 2);
        let good = sentence("GPRMC,081836.50,A,3344.9380,N,11811.6260,W,12.5,087.3,021226,,,A");
        assert_eq!(parse(&good.replace("*", "*0"), date).map(|_| ()), Err(NmeaError::Checksum));
        assert_eq!(parse(&good[..40], date).map(|_| ()), Err(NmeaError::Malformed), "truncated");
        assert!(matches!(
            parse(&sentence("GPRMC,081836,A,9544.9,N,11811.6,W,1,1,021226"), date),
            Err(NmeaError::Field(_))
        ));
        assert!(matches!(
            parse(&sentence("GPRMC,081836,A,3344.9,N,18811.6,W,1,1,021226"), date),
            Err(NmeaError::Field(_))
        ));
        assert!(matches!(
            parse(&sentence("GPRMC,991836,A,3344.9,N,11811.6,W,1,1,021226"), date),
            Err(NmeaError::Field(_))
        ));
        assert!(matches!(
            parse(&sentence("GPRMC,081836,A,3344.9,Q,11811.6,W,1,1,021226"), date),
            Err(NmeaError::Field(_))
        ));
        // Random bytes, random cuts of good sentences: no panic, each one counted.
        let shared = SharedTrack::default();
        let mut assembler = Assembler::default();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut bad = 0;
        for i in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let line: String = if i % 2 == 0 {
                (0..(seed % 90)).map(|k| char::from(((seed >> (k % 56)) as u8 % 95) + 32)).collect()
            } else {
                let cut = (seed as usize) % good.len();
                format!("{}{}", &good[..cut], &good[cut.saturating_add(1).min(good.len())..])
            };
            if !assembler.feed(&line, &shared) {
                bad += 1;
            }
        }
        assert!(bad > 1900, "{bad}");
        assert_eq!(shared.lock().unwrap().health.bad, bad);
        assert!(assembler.feed(&good, &shared));
        assert!(shared.lock().unwrap().track.latest().is_some());
    }

    #[test]
    fn a_recorded_file_is_read_into_the_track() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("track.nmea");
        let lines: Vec<String> = (0..5)
            .map(|s| sentence(&format!("GPRMC,08183{s}.00,A,3344.9{s}00,N,11811.6260,W,10.0,000.0,021226,,,A")))
            .collect();
        std::fs::write(&path, format!("{}\nnot nmea\n", lines.join("\n"))).unwrap();
        let shared = SharedTrack::default();
        drop(start(&path, std::sync::Arc::clone(&shared)).unwrap());
        // Dropping joins; the file may not have been read in full yet, so read it again to
        // the end with the reader's own loop.
        let stop = AtomicBool::new(false);
        read_loop(&path, &shared, &stop);
        let s = shared.lock().unwrap();
        assert_eq!(s.track.latest().map(|f| f.time.to_rfc3339()), Some("2026-12-02T08:18:34+00:00".to_owned()));
        assert!(s.health.bad >= 1);
    }
}
