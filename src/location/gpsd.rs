//! gpsd, the usual GPS daemon on Linux in-car computers, through its JSON protocol over TCP
//! (default localhost:2947): `?WATCH` for TPV (time, position, velocity) and SKY
//! (satellites) reports. The client reconnects when gpsd restarts and never blocks anyone:
//! readers take the shared track as it stands.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Fix, ReceiverThread, SharedTrack};

/// One gpsd report, the fields used.
#[derive(Debug, Deserialize)]
struct Report {
    class: String,
    /// TPV: 0/1 no fix, 2 two-dimensional, 3 three-dimensional.
    mode: Option<u8>,
    time: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    /// Horizontal position error estimate, metres (newer gpsd).
    eph: Option<f64>,
    /// Longitude and latitude error estimates, metres.
    epx: Option<f64>,
    epy: Option<f64>,
    /// m/s.
    speed: Option<f64>,
    /// Degrees true.
    track: Option<f64>,
    /// SKY: satellites used.
    #[serde(rename = "uSat")]
    used_satellites: Option<u8>,
    satellites: Option<Vec<Satellite>>,
}

#[derive(Debug, Deserialize)]
struct Satellite {
    used: Option<bool>,
}

/// What one JSON line from gpsd says.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A TPV with a 2D or 3D fix.
    Fix(Fix),
    /// A TPV without a fix.
    NoFix,
    /// Satellites used (SKY).
    Satellites(u8),
    /// Another report (VERSION, DEVICES, WATCH...).
    Other,
}

/// Parses one line of gpsd's JSON; an error for what is not a report.
pub fn parse(line: &str) -> Result<Parsed, String> {
    let report: Report = serde_json::from_str(line.trim()).map_err(|e| format!("not a gpsd report: {e}"))?;
    match report.class.as_str() {
        "TPV" => {
            if report.mode.unwrap_or(0) < 2 {
                return Ok(Parsed::NoFix);
            }
            let (Some(lat), Some(lon), Some(time)) = (report.lat, report.lon, report.time.as_deref()) else {
                return Ok(Parsed::NoFix);
            };
            let time =
                DateTime::parse_from_rfc3339(time).map_err(|e| format!("TPV time {time:?}: {e}"))?.with_timezone(&Utc);
            let accuracy = report.eph.or_else(|| report.epx.zip(report.epy).map(|(x, y)| x.max(y)));
            let fix = Fix {
                time,
                lat,
                lon,
                accuracy_m: accuracy.map(|a| a as f32),
                speed_mps: report.speed.filter(|s| s.is_finite() && *s >= 0.0).map(|s| s as f32),
                heading_deg: report.track.filter(|t| (0.0..=360.0).contains(t)).map(|t| t as f32),
            };
            if fix.is_plausible() { Ok(Parsed::Fix(fix)) } else { Err(format!("impossible position {lat}, {lon}")) }
        }
        "SKY" => {
            let used = report.used_satellites.or_else(|| {
                report.satellites.map(|s| s.iter().filter(|s| s.used == Some(true)).count().min(255) as u8)
            });
            Ok(used.map_or(Parsed::Other, Parsed::Satellites))
        }
        _ => Ok(Parsed::Other),
    }
}

/// Connects to gpsd at `addr` (`host:port`) on a named thread and keeps `shared` up to date,
/// reconnecting (1 s, 2 s, ... up to 10 s apart) whenever gpsd is away; the thread stops and
/// joins when the returned handle is dropped.
pub fn start(addr: &str, shared: SharedTrack) -> std::io::Result<ReceiverThread> {
    let addr = addr.to_owned();
    shared.lock().unwrap_or_else(PoisonError::into_inner).health.source = format!("gpsd {addr}");
    ReceiverThread::spawn("gps-gpsd", move |stop| run(&addr, &shared, stop))
}

fn set_problem(shared: &SharedTrack, problem: Option<String>) {
    let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
    s.health.connected = problem.is_none();
    s.health.problem = problem;
}

fn run(addr: &str, shared: &SharedTrack, stop: &AtomicBool) {
    let mut backoff = Duration::from_secs(1);
    while !stop.load(Ordering::Relaxed) {
        match session(addr, shared, stop) {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(err) => {
                set_problem(shared, Some(format!("gpsd {addr}: {err}")));
                // Sleep in short steps so that a stop is never held up by the backoff.
                let until = std::time::Instant::now() + backoff;
                while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// One connection, until gpsd goes away (an error) or the client stops (`Ok`).
fn session(addr: &str, shared: &SharedTrack, stop: &AtomicBool) -> std::io::Result<()> {
    let target = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such address"))?;
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
    // A short read timeout: the loop looks at the stop flag at least twice a second.
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    stream.write_all(b"?WATCH={\"enable\":true,\"json\":true};\n")?;
    set_problem(shared, None);
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        match reader.read_line(&mut line) {
            Ok(0) => return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "gpsd closed the connection")),
            Ok(_) => {
                let parsed = parse(&line);
                line.clear();
                let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
                match parsed {
                    Ok(Parsed::Fix(fix)) => {
                        s.track.merge(fix);
                        s.health.latest = s.track.latest().copied();
                    }
                    Ok(Parsed::Satellites(n)) => s.health.satellites = Some(n),
                    Ok(Parsed::NoFix | Parsed::Other) => {}
                    Err(_) => s.health.bad += 1,
                }
            }
            // The timeout: nothing from gpsd for half a second; keep what was read so far.
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpv_and_sky_reports_parse() {
        let tpv = r#"{"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2026-12-02T08:18:36.500Z","lat":33.7489,"lon":-118.1937,"eph":6.2,"speed":6.4,"track":87.3}"#;
        let Parsed::Fix(fix) = parse(tpv).unwrap() else { panic!() };
        assert_eq!((fix.lat, fix.lon, fix.accuracy_m, fix.heading_deg), (33.7489, -118.1937, Some(6.2), Some(87.3)));
        assert_eq!(fix.time.to_rfc3339(), "2026-12-02T08:18:36.500+00:00");
        assert_eq!(parse(r#"{"class":"TPV","mode":1}"#).unwrap(), Parsed::NoFix);
        let sky =
            r#"{"class":"SKY","satellites":[{"PRN":1,"used":true},{"PRN":2,"used":false},{"PRN":3,"used":true}]}"#;
        assert_eq!(parse(sky).unwrap(), Parsed::Satellites(2));
        assert_eq!(parse(r#"{"class":"VERSION","release":"3.22"}"#).unwrap(), Parsed::Other);
        assert!(parse("garbage").is_err());
        assert!(parse(r#"{"class":"TPV","mode":3,"time":"2026-12-02T08:18:36Z","lat":123.0,"lon":0.5}"#).is_err());
    }

    #[test]
    fn no_gpsd_is_a_problem_shown_not_a_hang() {
        // A port nothing listens on: the client says so, and stops at once when dropped.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap().to_string();
        drop(free);
        let shared = SharedTrack::default();
        let client = start(&addr, std::sync::Arc::clone(&shared)).unwrap();
        let start = std::time::Instant::now();
        while shared.lock().unwrap().health.problem.is_none() {
            assert!(start.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!shared.lock().unwrap().health.connected);
        let stopping = std::time::Instant::now();
        drop(client);
        assert!(stopping.elapsed() < Duration::from_secs(2));
    }
}
