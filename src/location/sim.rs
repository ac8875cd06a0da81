//! The simulated patrol route for the demo and the simulator: a loop through the port's
//! streets driven at a patrol speed, so that reads, hits and the map show moving positions.

use chrono::{DateTime, Utc};

use super::{Fix, distance_m};

/// A closed route driven at a constant speed.
#[derive(Debug, Clone)]
pub struct Route {
    points: Vec<(f64, f64)>,
    lengths: Vec<f64>,
    total_m: f64,
    speed_mps: f64,
}

impl Route {
    /// A loop around the Port of Long Beach's inner harbour (Ocean Blvd, Harbor Scenic Dr,
    /// Pier T, Navy Way, W Anaheim St), about 13 km at 11 m/s (40 km/h).
    pub fn port() -> Self {
        Self::new(
            &[
                (33.7676, -118.1937),
                (33.7676, -118.2016),
                (33.7645, -118.2117),
                (33.7531, -118.2210),
                (33.7484, -118.2330),
                (33.7612, -118.2433),
                (33.7743, -118.2421),
                (33.7793, -118.2292),
                (33.7796, -118.2161),
                (33.7752, -118.2016),
            ],
            11.0,
        )
    }

    /// A loop through `points` (latitude, longitude) at `speed_mps`.
    pub fn new(points: &[(f64, f64)], speed_mps: f64) -> Self {
        let n = points.len();
        let lengths: Vec<f64> = (0..n).map(|i| distance_m(points[i], points[(i + 1) % n])).collect();
        let total_m = lengths.iter().sum::<f64>().max(1.0);
        Self { points: points.to_vec(), lengths, total_m, speed_mps }
    }

    /// Where the car is at `time`: always a fix, with its speed and heading.
    pub fn at(&self, time: DateTime<Utc>) -> Fix {
        let seconds = time.timestamp_millis() as f64 / 1000.0;
        let mut along = (seconds * self.speed_mps).rem_euclid(self.total_m);
        let n = self.points.len();
        for i in 0..n {
            let length = self.lengths[i];
            if along <= length || i == n - 1 {
                let (a, b) = (self.points[i], self.points[(i + 1) % n]);
                let t = if length > 0.0 { (along / length).min(1.0) } else { 0.0 };
                let lat = a.0 + (b.0 - a.0) * t;
                let lon = a.1 + (b.1 - a.1) * t;
                return Fix {
                    time,
                    lat,
                    lon,
                    accuracy_m: Some(4.0),
                    speed_mps: Some(self.speed_mps as f32),
                    heading_deg: Some(bearing_deg(a, b) as f32),
                };
            }
            along -= length;
        }
        Fix::at(time, self.points[0].0, self.points[0].1)
    }

    /// The route's length, metres.
    pub fn length_m(&self) -> f64 {
        self.total_m
    }
}

/// Initial bearing from `a` to `b`, degrees from true north (0-360).
pub fn bearing_deg(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let dlon = (b.1 - a.1).to_radians();
    let y = dlon.sin() * lat2.cos();
    let x = lat1.cos() * lat2.sin() - lat1.sin() * lat2.cos() * dlon.cos();
    y.atan2(x).to_degrees().rem_euclid(360.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_moves_at_its_speed_and_stays_in_the_port() {
        let route = Route::port();
        assert!((10_000.0..20_000.0).contains(&route.length_m()), "{}", route.length_m());
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut last = route.at(t0);
        for s in 1..=600 {
            let fix = route.at(t0 + chrono::Duration::seconds(s));
            assert!((33.74..33.79).contains(&fix.lat) && (-118.25..-118.19).contains(&fix.lon), "{fix:?}");
            let step = fix.distance_m(&last);
            assert!(step <= 11.5, "moved {step} m in a second");
            last = fix;
        }
        assert!((bearing_deg((0.0, 0.0), (1.0, 0.0)) - 0.0).abs() < 1e-9);
        assert!((bearing_deg((0.0, 0.0), (0.0, 1.0)) - 90.0).abs() < 1e-9);
    }
}
