//! Hot-list file parsers (California DOJ CLEW `.tbl`, NCIC extract, CSV) and the import report.
//!
//! Part of the policy core. Every parser takes the file's bytes, never panics, and reports each
//! bad line as `file:line: reason` while the good lines load. Problems with the file as a whole
//! (no header, a footer whose count disagrees, an unknown CSV column) are reported as
//! *file* errors: an import loads what it can and says so; a shift-start update refuses a file
//! with such an error and keeps the last good list.

pub mod clew;
pub mod csv;
pub mod ncic;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::entry::HotlistEntry;

/// The most line errors kept per import; the rest are counted. A binary file fed by mistake
/// would otherwise produce millions of messages.
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// A supported hot-list file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// California DOJ CLEW fixed-width `.tbl` (svs, sfr, slr).
    Clew,
    /// NCIC licence-plate-reader fixed-width extract.
    Ncic,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// Guesses the format from the file name: `.tbl` is CLEW, `.csv` (and `.txt` with a
    /// delimiter-separated header) is CSV, `.ncic` / `.lpr` is NCIC.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "tbl" => Some(Format::Clew),
            "csv" | "tsv" | "psv" => Some(Format::Csv),
            "ncic" | "lpr" => Some(Format::Ncic),
            _ => None,
        }
    }

    /// The format's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Clew => "clew",
            Format::Ncic => "ncic",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an error spoils one line or the file as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorScope {
    /// The line is skipped; the rest loads.
    Line,
    /// The file is suspect (truncated, miscounted, misdeclared); an update refuses it.
    File,
}

/// One problem found while parsing, with its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// The file name as given.
    pub file: String,
    /// Line number, from 1 (0 when the error is about the file before any line).
    pub line: usize,
    /// What was wrong.
    pub reason: String,
    /// Line or file.
    pub scope: ErrorScope,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// What a parser needs to know besides the bytes.
#[derive(Debug, Clone)]
pub struct ParseContext {
    /// The file name used in messages and as the entries' `source`.
    pub source: String,
    /// The list's version (from the manifest, or the import time).
    pub version: String,
    /// Overrides the list name the format would derive (manifest `list`).
    pub list: Option<String>,
    /// The time of the import, for relative checks.
    pub now: DateTime<Utc>,
}

/// The result of parsing one file.
#[derive(Debug, Clone, Default)]
pub struct ParsedFile {
    /// Entries from the good lines.
    pub entries: Vec<HotlistEntry>,
    /// Record lines refused.
    pub rejected: usize,
    /// Errors, at most [`MAX_REPORTED_ERRORS`].
    pub errors: Vec<LineError>,
    /// Errors beyond those kept.
    pub errors_omitted: usize,
}

impl ParsedFile {
    pub(crate) fn line_error(&mut self, ctx: &ParseContext, line: usize, reason: impl Into<String>) {
        self.rejected += 1;
        self.push_error(ctx, line, reason.into(), ErrorScope::Line);
    }

    pub(crate) fn file_error(&mut self, ctx: &ParseContext, line: usize, reason: impl Into<String>) {
        self.push_error(ctx, line, reason.into(), ErrorScope::File);
    }

    fn push_error(&mut self, ctx: &ParseContext, line: usize, reason: String, scope: ErrorScope) {
        // File errors are always kept: there are few, and they decide whether an update loads.
        if self.errors.len() < MAX_REPORTED_ERRORS || scope == ErrorScope::File {
            self.errors.push(LineError { file: ctx.source.clone(), line, reason, scope });
        } else {
            self.errors_omitted += 1;
        }
    }

    /// True when a file-level error was found.
    pub fn has_file_error(&self) -> bool {
        self.errors.iter().any(|e| e.scope == ErrorScope::File)
    }
}

/// Parses one file in the given format.
pub fn parse(format: Format, bytes: &[u8], ctx: &ParseContext) -> ParsedFile {
    match format {
        Format::Clew => clew::parse(bytes, ctx),
        Format::Ncic => ncic::parse(bytes, ctx),
        Format::Csv => csv::parse(bytes, ctx),
    }
}

/// Splits bytes into numbered lines (from 1) without their `\n` / `\r\n`, skipping nothing.
pub(crate) fn numbered_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|&b| b == b'\n')
        .filter(move |_| !empty)
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix(b"\r").unwrap_or(line)))
}

/// True for a line holding only spaces and tabs.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| b == b' ' || b == b'\t')
}

/// Parses `YYYYMMDD`.
pub(crate) fn parse_compact_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y%m%d").ok()
}

/// The totals of an import, printed at its end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Files read.
    pub files: Vec<String>,
    /// Entries kept.
    pub accepted: usize,
    /// Record lines refused.
    pub rejected: usize,
    /// Entries that repeated another (same plate, state and list) and were merged into it.
    pub duplicates_merged: usize,
    /// Entries already expired, not loaded.
    pub expired_skipped: usize,
    /// The errors, in file and line order (at most [`MAX_REPORTED_ERRORS`] per file).
    pub errors: Vec<LineError>,
    /// Errors not listed.
    pub errors_omitted: usize,
}

impl ImportReport {
    /// True when some file as a whole is suspect.
    pub fn has_file_error(&self) -> bool {
        self.errors.iter().any(|e| e.scope == ErrorScope::File)
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.errors {
            writeln!(f, "{error}")?;
        }
        if self.errors_omitted > 0 {
            writeln!(f, "... and {} more errors", self.errors_omitted)?;
        }
        write!(
            f,
            "accepted {}, rejected {}, duplicates merged {}, expired skipped {}",
            self.accepted, self.rejected, self.duplicates_merged, self.expired_skipped
        )
    }
}

/// Combines parsed files into one entry list: drops expired entries and merges duplicates
/// (same plate, state and list) into the first, keeping the most urgent priority and the
/// latest expiry.
pub fn merge(files: Vec<(String, ParsedFile)>, now: DateTime<Utc>) -> (Vec<HotlistEntry>, ImportReport) {
    let mut report = ImportReport::default();
    let mut entries: Vec<HotlistEntry> = Vec::new();
    let mut seen: HashMap<(String, Option<String>, String), usize> = HashMap::new();
    for (name, parsed) in files {
        report.files.push(name);
        report.rejected += parsed.rejected;
        report.errors.extend(parsed.errors);
        report.errors_omitted += parsed.errors_omitted;
        for entry in parsed.entries {
            if entry.is_expired(now) {
                report.expired_skipped += 1;
                continue;
            }
            let key = (entry.plate.clone(), entry.state.clone(), entry.list.clone());
            match seen.get(&key) {
                Some(&i) => {
                    let kept = &mut entries[i];
                    kept.priority = kept.priority.min(entry.priority);
                    kept.expires = match (kept.expires, entry.expires) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    };
                    report.duplicates_merged += 1;
                }
                None => {
                    seen.insert(key, entries.len());
                    entries.push(entry);
                }
            }
        }
    }
    report.accepted = entries.len();
    (entries, report)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A context for parser tests, at a fixed time.
    pub fn ctx(source: &str) -> ParseContext {
        use chrono::TimeZone;
        ParseContext {
            source: source.to_owned(),
            version: "v1".into(),
            list: None,
            now: Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap(),
        }
    }

    /// The `file:line: reason` strings of a parse.
    pub fn messages(parsed: &ParsedFile) -> Vec<String> {
        parsed.errors.iter().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::ctx;
    use super::*;
    use crate::hotlist::entry::Category;

    #[test]
    fn lines_are_numbered_from_one() {
        let lines: Vec<(usize, &[u8])> = numbered_lines(b"a\r\nb\n\nc").collect();
        assert_eq!(lines, vec![(1, &b"a"[..]), (2, &b"b"[..]), (3, &b""[..]), (4, &b"c"[..])]);
        assert_eq!(numbered_lines(b"").count(), 0);
        assert_eq!(numbered_lines(b"x\n").count(), 1);
    }

    #[test]
    fn formats_from_names() {
        assert_eq!(Format::from_path(Path::new("svs.tbl")), Some(Format::Clew));
        assert_eq!(Format::from_path(Path::new("list.CSV")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("extract.ncic")), Some(Format::Ncic));
        assert_eq!(Format::from_path(Path::new("README")), None);
    }

    #[test]
    fn merge_counts_duplicates_and_expired() {
        let c = ctx("a.csv");
        let mut a = HotlistEntry::new("ABC123", Category::StolenVehicle, "svs");
        a.priority = 4;
        let mut b = a.clone();
        b.priority = 2;
        let mut expired = HotlistEntry::new("OLD1", Category::Bolo, "bolo");
        expired.expires = Some(c.now - chrono::Duration::hours(1));
        let other_state = HotlistEntry { state: Some("NV".into()), ..a.clone() };
        let parsed = ParsedFile { entries: vec![a, b, expired, other_state], rejected: 2, ..Default::default() };
        let (entries, report) = merge(vec![("a.csv".into(), parsed)], c.now);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].priority, 2);
        assert_eq!((report.accepted, report.rejected, report.duplicates_merged, report.expired_skipped), (2, 2, 1, 1));
        assert!(report.to_string().ends_with("accepted 2, rejected 2, duplicates merged 1, expired skipped 1"));
    }
}
