//! Demo mode's data: the demo users, and a demo publisher that signs the fictitious demo hot
//! list (`assets/demo-hotlist.csv`) with its own key, so the shift-start update runs the real
//! verification path. Nothing here is used outside `--demo`.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::hotlist::cache::CacheState;
use crate::hotlist::load::ListBuilder;
use crate::hotlist::parse::{Format, ParseContext, parse};
use crate::hotlist::update::{generate_key, sign_dir};
use crate::hotlist::{ActiveList, HotlistConfig};
use crate::session::seed_demo_users;
use crate::store::Store;

/// The demo hot list, compiled in so the demo runs from any folder.
pub const DEMO_HOTLIST_CSV: &str = include_str!("../../assets/demo-hotlist.csv");

/// Plates the demo simulator shows besides random ones: they are on the demo list, so hits
/// happen within the first minutes.
pub const DEMO_SIM_PLATES: [&str; 4] = ["DEMO001", "7DMO123", "TEST123", "8DMO456"];

/// Seeds the demo users, publishes a freshly signed demo list under `data_dir`, and points
/// the settings' hot-list source and public key at it.
pub fn prepare(store: &Store, data_dir: &Path, config: &mut Config, now: DateTime<Utc>) -> Result<(), String> {
    seed_demo_users(store).map_err(|e| format!("demo users: {e}"))?;
    let publisher = data_dir.join("demo-publisher");
    let list_dir = publisher.join("list");
    std::fs::create_dir_all(&list_dir).map_err(|e| format!("{}: {e}", list_dir.display()))?;
    let key = publisher.join("demo-signing.key");
    let public = if key.exists() {
        let public_path = publisher.join("demo-signing.key.pub");
        std::fs::read_to_string(&public_path).map_err(|e| format!("{}: {e}", public_path.display()))?.trim().to_owned()
    } else {
        generate_key(&key).map_err(|e| e.to_string())?
    };
    let csv = list_dir.join("demo.csv");
    std::fs::write(&csv, DEMO_HOTLIST_CSV).map_err(|e| format!("{}: {e}", csv.display()))?;
    let version = format!("DEMO-{}", now.format("%Y%m%d-%H%M%S"));
    sign_dir(&list_dir, &key, Some(&version), now).map_err(|e| e.to_string())?;
    config.hotlist.public_key = Some(public);
    config.hotlist.sources = vec![list_dir.display().to_string()];
    Ok(())
}

/// The demo list as an active list, parsed from the compiled-in file: what a simulated
/// `run --headless` without a user matches against (it is fictitious, so reading it needs no
/// PIN, and its plates are the ones the demo simulator shows).
pub fn demo_list(config: &HotlistConfig, now: DateTime<Utc>) -> Result<ActiveList, String> {
    let ctx = ParseContext { source: "demo".into(), version: "DEMO".into(), list: None, now, error_log: None };
    let parsed = parse(Format::Csv, DEMO_HOTLIST_CSV.as_bytes(), &ctx);
    if let Some(error) = parsed.errors.first() {
        return Err(format!("the demo hot list: {error}"));
    }
    let mut list = ListBuilder::new(config, now);
    list.add_entries("demo", parsed.entries).map_err(|e| format!("the demo hot list: {e}"))?;
    Ok(list.finish(&CacheState::default()).list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_demo_list_loads_whole() {
        let now = Utc::now();
        let list = demo_list(&HotlistConfig::default(), now).unwrap();
        assert_eq!(list.index.len(), DEMO_HOTLIST_CSV.lines().skip(1).filter(|l| !l.trim().is_empty()).count());
    }

    #[test]
    fn demo_plates_are_on_the_demo_list() {
        for plate in DEMO_SIM_PLATES {
            assert!(DEMO_HOTLIST_CSV.lines().any(|l| l.starts_with(&format!("{plate},"))), "{plate}");
        }
        // Every entry is visibly fictitious.
        for line in DEMO_HOTLIST_CSV.lines().skip(1) {
            assert!(line.contains("DEMO"), "{line}");
        }
    }
}
