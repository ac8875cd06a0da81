//! One file per screen. Each screen keeps only what is being typed or chosen on it, draws
//! from the console, and queues commands through the shared `Frame`. A screen draws in the
//! work area the app gives it; refusals show in the app's fixed message line, not in the
//! screen, so a refusal never moves a control.

pub mod action_bar;
pub mod admin;
pub mod cannot_start;
pub mod checklist;
pub mod history;
pub mod hit_alert;
pub mod hit_workflow;
pub mod lock;
pub mod login;
pub mod oversight;
pub mod patrol;
pub mod settings;

/// Where a read was made, for the officer to read to dispatch: the coordinates, and the
/// distance and direction from the car now when both are known; "no GPS fix" otherwise.
pub fn place_words(read_at: Option<crate::location::Fix>, now: Option<crate::location::Fix>) -> String {
    let Some(at) = read_at else { return "no GPS fix".to_owned() };
    let coordinates = format!(
        "{:.5}{} {:.5}{}",
        at.lat.abs(),
        if at.lat >= 0.0 { "N" } else { "S" },
        at.lon.abs(),
        if at.lon >= 0.0 { "E" } else { "W" }
    );
    match now {
        Some(now) => {
            let metres = now.distance_m(&at);
            let bearing = crate::location::sim::bearing_deg((now.lat, now.lon), (at.lat, at.lon));
            const POINTS: [&str; 8] = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
            let point = POINTS[((bearing + 22.5) / 45.0) as usize % 8];
            format!("{coordinates} · {metres:.0} m {point}")
        }
        None => coordinates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::Fix;

    #[test]
    fn a_place_reads_as_coordinates_distance_and_direction() {
        let t = chrono::Utc::now();
        assert_eq!(place_words(None, None), "no GPS fix");
        let read = Fix::at(t, 33.76, -118.20);
        assert_eq!(place_words(Some(read), None), "33.76000N 118.20000W");
        // The car 0.001 degree north of where it read the plate: the plate is about 111 m south.
        let words = place_words(Some(read), Some(Fix::at(t, 33.761, -118.20)));
        assert!(words.ends_with("111 m S"), "{words}");
    }
}
