//! The crate's layering, checked: which part of `src/` may reach which (docs/architecture.md,
//! "Layers"). A layer that reaches one it must not fails here with the file and the path.
//!
//! What counts as reaching: a `crate::MODULE` path (in a `use` line or inline), a sibling
//! module named through `super::`, or an external crate's name, anywhere in a file's code
//! above its `#[cfg(test)]` tests (tests may build whatever they check). Comments do not
//! count.

// Test helpers panic on failure by design: that is how a test fails.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The policy core: plate texts, the audit trail, the hit lifecycle, hot-list matching and
/// parsing, the session's role rules, and the shared geometry. No GUI, camera, audio,
/// recognition, storage or orchestration.
const POLICY_CORE: &[&str] = &[
    "plate.rs",
    "audit.rs",
    "geometry.rs",
    "hits/",
    "hotlist/entry.rs",
    "hotlist/index.rs",
    "hotlist/equivalence.rs",
    "hotlist/actor.rs",
    "hotlist/parse/",
    "session/roles.rs",
];
const CORE_MUST_NOT_REACH: &[&str] = &[
    "crate::ui",
    "crate::console",
    "crate::camera",
    "crate::pipeline",
    "crate::store",
    "crate::recognize",
    "crate::render",
    "crate::reports",
    "crate::cli",
    "egui",
    "eframe",
    "rodio",
    "nokhwa",
    "rusqlite",
    "tract_onnx",
];

/// Files that still open the database themselves instead of through `store/` (known debt,
/// docs/architecture.md): the list may only shrink. A file on it that no longer reaches
/// `rusqlite` fails the test too, so the list stays true.
const STORAGE_OUTSIDE_STORE: &[&str] =
    &["reports/exigent.rs", "reports/release.rs", "reports/sample.rs", "reports/search.rs", "reports/usage.rs"];

struct Source {
    /// Path under `src/`, with `/` separators.
    name: String,
    /// The code above the tests, comments removed.
    code: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let code: Vec<&str> = text
                .lines()
                .take_while(|l| l.trim() != "#[cfg(test)]")
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect();
            let name = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            Source { name, code: code.join("\n") }
        })
        .collect()
}

/// True when `code` names `path` as a whole path segment (so `crate::ui` does not match
/// `crate::uix`, nor `egui` match `my_egui`).
fn reaches(code: &str, path: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(path).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + path.len()..].chars().next();
        !before.is_some_and(|c| is_ident(c) || c == ':') && !after.is_some_and(is_ident)
    })
}

fn in_part(name: &str, part: &str) -> bool {
    if part.ends_with('/') { name.starts_with(part) } else { name == part }
}

/// Every (file, path) where a file of `from` reaches one of `forbidden`.
fn violations(sources: &[Source], from: &[&str], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for source in sources.iter().filter(|s| from.iter().any(|p| in_part(&s.name, p))) {
        for path in forbidden.iter().filter(|p| reaches(&source.code, p)) {
            found.push(format!("src/{} reaches {path}", source.name));
        }
    }
    found
}

#[test]
fn the_policy_core_reaches_no_gui_camera_audio_recognition_or_storage() {
    let sources = sources();
    assert!(sources.iter().any(|s| s.name == "hits/lifecycle.rs"), "the source tree was read");
    let found = violations(&sources, POLICY_CORE, CORE_MUST_NOT_REACH);
    assert!(found.is_empty(), "the policy core must stand alone:\n{}", found.join("\n"));
}

#[test]
fn capture_and_rendering_do_not_reach_recognition_and_recognition_not_the_pipeline() {
    let sources = sources();
    let rules: [(&[&str], &[&str]); 3] = [
        (&["camera/"], &["crate::recognize", "crate::ui", "crate::console", "tract_onnx"]),
        (&["render/"], &["crate::recognize", "crate::camera", "crate::pipeline"]),
        (&["recognize/"], &["crate::pipeline", "crate::camera", "crate::ui", "crate::console", "crate::store"]),
    ];
    let found: Vec<String> = rules.iter().flat_map(|(from, forbidden)| violations(&sources, from, forbidden)).collect();
    assert!(found.is_empty(), "layers reached in a circle or downward:\n{}", found.join("\n"));
}

/// The loader merges the manual (BOLO) entries into the list, so it uses them; the manual
/// entries must not use the loader back (they shared `Actor` in a circle once).
#[test]
fn the_hot_list_loader_and_manual_entries_are_not_a_circle() {
    let sources = sources();
    let found = violations(&sources, &["hotlist/manual.rs"], &["super::load", "crate::hotlist::load"]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn only_the_store_opens_the_database() {
    let sources = sources();
    let mut found = Vec::new();
    for source in &sources {
        let uses = reaches(&source.code, "rusqlite");
        let inside = source.name.starts_with("store/");
        let known = STORAGE_OUTSIDE_STORE.contains(&source.name.as_str());
        if uses && !inside && !known {
            found.push(format!("src/{} uses rusqlite outside store/", source.name));
        }
        if known && !uses {
            found.push(format!("src/{} no longer uses rusqlite: take it off STORAGE_OUTSIDE_STORE", source.name));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_checker_tells_a_path_from_a_longer_name() {
    assert!(reaches("use crate::ui::theme;", "crate::ui"));
    assert!(!reaches("use crate::uix;", "crate::ui"));
    assert!(reaches("fn f(c: &rusqlite::Connection)", "rusqlite"));
    assert!(!reaches("use my_egui::X;", "egui"));
    assert!(!reaches("use eframe_x::Y;", "eframe"));
    assert!(reaches("use super::manual::{BoloStore};", "super::manual"));
}
