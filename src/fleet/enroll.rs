//! Enrolling a car: its own PostgreSQL role (`car_<id>`, a member of `patrol_car`) with a
//! random password, recorded in `cars`, and a credentials file for the car kept outside its
//! data dir like the database key. Row-level security then lets that role insert only rows
//! carrying its own car id, and read none of what the cars send.

use std::io::Write as _;
use std::path::Path;

use postgres::Client;
use serde::{Deserialize, Serialize};

use super::{FleetError, car_id};

/// A car's office credentials, as written to its credentials file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarCredentials {
    /// The car's id.
    pub car_id: String,
    /// Its PostgreSQL role.
    pub user: String,
    /// Its password (random, 256 bits).
    pub password: String,
}

/// The role name of a car id (already checked by [`car_id`]).
pub fn role_name(car: &str) -> String {
    format!("car_{}", car.replace('-', "_"))
}

/// Creates the car's role and its `cars` row in one transaction; refuses a car enrolled
/// already. `by` is who enrolled it (recorded).
pub fn enroll_car(client: &mut Client, car: &str, by: &str) -> Result<CarCredentials, FleetError> {
    let car = car_id(car)?;
    let role = role_name(&car);
    let password = crate::store::key::random_secret();
    let mut tx = client.transaction()?;
    let known: i64 = tx.query_one("SELECT count(*) FROM cars WHERE car_id = $1", &[&car])?.get(0);
    if known > 0 {
        return Err(FleetError::CarExists(car));
    }
    // A role name and a password cannot be bound as parameters; both are made here of
    // [a-z0-9_] and hex digits only, so quoting them is safe.
    tx.batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}' IN ROLE patrol_car"))?;
    tx.execute("INSERT INTO cars (car_id, role_name, enrolled_by) VALUES ($1, $2, $3)", &[&car, &role, &by])?;
    tx.commit()?;
    Ok(CarCredentials { car_id: car, user: role, password })
}

/// Undoes [`enroll_car`] for a car that never received its credentials (the file could not
/// be written): its role and its `cars` row go, in one transaction, so no role is left that
/// nobody holds the password of.
pub fn withdraw_car(client: &mut Client, enrolled: &CarCredentials) -> Result<(), FleetError> {
    let mut tx = client.transaction()?;
    tx.execute("DELETE FROM cars WHERE car_id = $1", &[&enrolled.car_id])?;
    // The role name was made by `role_name` of [a-z0-9_] only.
    tx.batch_execute(&format!("DROP ROLE IF EXISTS \"{}\"", enrolled.user))?;
    tx.commit()?;
    Ok(())
}

/// Writes the credentials file (owner-only, never over an existing file), refusing a path
/// inside the car's data dir: whoever copies the data dir must not get the office key with it.
pub fn write_credentials(path: &Path, data_dir: &Path, credentials: &CarCredentials) -> Result<(), FleetError> {
    let fail = |message: String| FleetError::Credentials { path: path.display().to_string(), message };
    crate::store::key::check_outside(path, data_dir).map_err(|e| fail(e.to_string()))?;
    let json = serde_json::to_string_pretty(credentials).map_err(|e| fail(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| fail(e.to_string()))?;
    file.write_all(json.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| fail(e.to_string()))
}

/// Reads a credentials file.
pub fn read_credentials(path: &Path) -> Result<CarCredentials, FleetError> {
    let fail = |message: String| FleetError::Credentials { path: path.display().to_string(), message };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_plain_identifiers() {
        assert_eq!(role_name("unit-12"), "car_unit_12");
    }

    #[test]
    fn credentials_stay_outside_the_data_dir_and_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let creds = CarCredentials { car_id: "u1".into(), user: "car_u1".into(), password: "ab".into() };
        assert!(write_credentials(&data.join("office.json"), &data, &creds).is_err(), "inside the data dir");
        let path = dir.path().join("office.json");
        write_credentials(&path, &data, &creds).unwrap();
        assert_eq!(read_credentials(&path).unwrap(), creds);
        assert!(write_credentials(&path, &data, &creds).is_err(), "never over an existing file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
