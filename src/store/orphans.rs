//! Leftovers of killed processes: temporary files and scratch folders whose names carry the
//! process id that made them (`.incoming-PID-N.tmp` in the hot-list cache, `bench-PID` in the
//! data dir). A process that was killed never removed its own; the next one does, once that
//! process id no longer runs.

use std::path::Path;

/// Removes the entries of `dir` named `PREFIX` + a process id (then anything not a digit, or
/// nothing) whose process no longer runs; returns how many were removed. Entries of running
/// processes, and every other name, are left alone. Where running processes cannot be told
/// (no `/proc`), nothing is removed.
pub fn remove_orphaned(dir: &Path, prefix: &str) -> usize {
    let proc_dir = Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(prefix) else { continue };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if pid.is_empty() || proc_dir.join(&pid).exists() {
            continue;
        }
        let path = entry.path();
        let gone = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        if gone.is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_leftovers_of_processes_that_are_gone_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Process ids above the kernel's maximum (4194304) never run.
        std::fs::write(d.join(".incoming-4999999-0.tmp"), b"x").unwrap();
        std::fs::create_dir(d.join("bench-4999998")).unwrap();
        std::fs::write(d.join("bench-4999998").join("db"), b"x").unwrap();
        let mine = format!(".incoming-{}-3.tmp", std::process::id());
        std::fs::write(d.join(&mine), b"x").unwrap();
        std::fs::write(d.join(".incoming-notapid.tmp"), b"x").unwrap();
        std::fs::write(d.join("state.json"), b"x").unwrap();
        if !Path::new("/proc/self").exists() {
            return;
        }
        assert_eq!(remove_orphaned(d, ".incoming-"), 1);
        assert_eq!(remove_orphaned(d, "bench-"), 1);
        let mut left: Vec<String> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, vec![mine, ".incoming-notapid.tmp".to_owned(), "state.json".to_owned()]);
    }
}
