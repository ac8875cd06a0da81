//! Position from a real gpsd (issue 18): `gpsfake` (Debian's gpsd-clients, installed by
//! scripts/setup.sh) plays a recorded NMEA track into a real gpsd on a free local port; reads
//! made while it runs carry the track's positions; gpsd stopped mid-run is "no fix" within the
//! configured age, and the position comes back when gpsd does, without blocking anyone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};

use patrol_alpr::location::{Locator, SourceSetting};

/// An NMEA sentence with its checksum.
fn sentence(body: &str) -> String {
    format!("${body}*{:02X}", body.bytes().fold(0u8, |x, b| x ^ b))
}

/// A northbound track, one RMC and one GGA a second, from 5 s ago for `seconds`.
fn write_track(path: &Path, seconds: i64) {
    let start = Utc::now() - chrono::Duration::seconds(5);
    let mut lines = Vec::new();
    for s in 0..seconds {
        let t = start + chrono::Duration::seconds(s);
        let time = format!("{:02}{:02}{:02}.00", t.hour(), t.minute(), t.second());
        let date = t.format("%d%m%y");
        // 33°45' N plus 0.001' a second: about 1.85 m north each second.
        let lat = format!("3345.{:04}", s * 10);
        lines.push(sentence(&format!("GPRMC,{time},A,{lat},N,11812.0000,W,3.6,000.0,{date},,,A")));
        lines.push(sentence(&format!("GPGGA,{time},{lat},N,11812.0000,W,1,08,1.0,10.0,M,-34.0,M,,")));
    }
    std::fs::write(path, lines.join("\r\n") + "\r\n").unwrap();
}

/// gpsfake and its gpsd, stopped (the whole process group) when dropped, so that a failing
/// test leaves no daemon behind.
struct Fake(Option<Child>);

impl Drop for Fake {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
        }
    }
}

/// A real gpsd, started by gpsfake on `port`, playing `track`; in its own process group so
/// that stopping it stops gpsd too.
fn gpsfake(port: u16, track: &Path) -> Fake {
    let path = format!("{}:/usr/sbin:/sbin", std::env::var("PATH").unwrap_or_default());
    Command::new("gpsfake")
        // Two sentences every half second: the track runs twice as fast as the clock, so that
        // its fixes soon reach past "now" however long gpsd takes to start.
        .args(["-q", "-c", "0.25", "-P", &port.to_string()])
        .arg(track)
        .env("PATH", path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(|child| Fake(Some(child)))
        .expect("gpsfake not found: install gpsd and gpsd-clients (scripts/setup.sh does)")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn reads_carry_gpsd_positions_and_say_no_fix_while_gpsd_is_away() {
    let dir = tempfile::tempdir().unwrap();
    let track = dir.path().join("track.nmea");
    write_track(&track, 120);
    let port = free_port();
    let max_age_ms = 2_000;
    let locator = Locator::start(&SourceSetting::Gpsd(format!("127.0.0.1:{port}")), max_age_ms).unwrap();
    let gpsd = gpsfake(port, &track);

    wait("a fix from gpsd", Duration::from_secs(30), || locator.health().latest.is_some());
    let health = locator.health();
    assert!(health.connected && health.problem.is_none(), "{health:?}");
    // A read now is stamped on the track: 33°45' N, 118°12' W, northbound.
    wait("a fix covering now", Duration::from_secs(30), || locator.at(Utc::now()).is_some());
    let stamp = locator.at(Utc::now()).unwrap();
    assert!((stamp.fix.lat - 33.75).abs() < 0.01 && (stamp.fix.lon + 118.2).abs() < 0.001, "{stamp:?}");
    assert!((0..=max_age_ms).contains(&stamp.fix_age_ms), "{stamp:?}");
    assert!(stamp.fix.speed_mps.is_some_and(|s| (s - 1.852).abs() < 0.1), "3.6 knots: {stamp:?}");

    // gpsd stops mid-run: within the age limit the reads say no fix, and asking never blocks.
    drop(gpsd);
    std::thread::sleep(Duration::from_millis(u64::try_from(max_age_ms).unwrap() + 1_500));
    let asked = Instant::now();
    assert!(locator.at(Utc::now()).is_none(), "a stale fix is no fix");
    assert!(asked.elapsed() < Duration::from_millis(50));
    wait("the client to notice", Duration::from_secs(10), || !locator.health().connected);

    // gpsd comes back on the same port: so do the positions.
    write_track(&track, 120);
    let _gpsd = gpsfake(port, &track);
    wait("fixes again", Duration::from_secs(40), || locator.at(Utc::now()).is_some());
    assert!(locator.health().connected);
}
