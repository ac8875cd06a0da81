//! Searches of every car's reads at the office (`search plate|near --db`): by plate, or by
//! place and period. The caller requires a purpose and a case number and records each search
//! with its terms in the office's log and its console's, as a console's own search is.

use chrono::{DateTime, Utc};
use postgres::Client;

use super::FleetError;
use crate::location::Area;

/// One read as the office holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRead {
    /// The car that made it.
    pub car_id: String,
    /// Its id in that car.
    pub read_id: i64,
    /// When.
    pub read_at: DateTime<Utc>,
    /// Which camera.
    pub camera: String,
    /// The officer on duty.
    pub officer: Option<String>,
    /// The plate as read.
    pub plate: String,
    /// The reader's confidence.
    pub confidence: f32,
    /// Where, when a fix was at hand.
    pub position: Option<(f64, f64)>,
}

const COLUMNS: &str = "car_id, read_id, read_at, camera, officer, plate, confidence, lat, lon";

fn fleet_read(r: &postgres::Row) -> FleetRead {
    let (lat, lon): (Option<f64>, Option<f64>) = (r.get(7), r.get(8));
    FleetRead {
        car_id: r.get(0),
        read_id: r.get(1),
        read_at: r.get(2),
        camera: r.get(3),
        officer: r.get(4),
        plate: r.get(5),
        confidence: r.get(6),
        position: lat.zip(lon),
    }
}

/// Every car's reads of `plate` (normalized), oldest first, by the plate index.
pub fn by_plate(client: &mut Client, plate: &str) -> Result<Vec<FleetRead>, FleetError> {
    let plate = crate::plate::normalize(plate);
    let rows =
        client.query(&format!("SELECT {COLUMNS} FROM reads WHERE plate = $1 ORDER BY read_at, car_id"), &[&plate])?;
    Ok(rows.iter().map(fleet_read).collect())
}

/// Every car's reads within `area` in `[from, to)`, oldest first: the bounding box in SQL,
/// then the exact distance, as a console's own search does.
pub fn near(
    client: &mut Client,
    area: Area,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<FleetRead>, FleetError> {
    let ((south, north), lons) = area.bounds();
    let mut found: Vec<FleetRead> = Vec::new();
    for (west, east) in lons {
        let rows = client.query(
            &format!(
                "SELECT {COLUMNS} FROM reads WHERE read_at >= $1 AND read_at < $2 AND lat BETWEEN $3 AND $4 \
                 AND lon BETWEEN $5 AND $6 ORDER BY read_at, car_id"
            ),
            &[&from, &to, &south, &north, &west, &east],
        )?;
        for read in rows.iter().map(fleet_read) {
            let inside = read.position.is_some_and(|(lat, lon)| area.contains(lat, lon));
            if inside && !found.iter().any(|f| f.car_id == read.car_id && f.read_id == read.read_id) {
                found.push(read);
            }
        }
    }
    found.sort_by(|a, b| a.read_at.cmp(&b.read_at).then_with(|| a.car_id.cmp(&b.car_id)));
    Ok(found)
}
