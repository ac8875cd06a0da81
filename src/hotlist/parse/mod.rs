//! Hot-list file parsers (California DOJ CLEW `.tbl`, NCIC extract, CSV) and the import report.
//!
//! Part of the policy core. Every parser reads its file line by line from a reader (so a list
//! of millions of lines is never held in memory as a whole), never panics, and reports each
//! bad line as `file:line: reason` while the good lines load. Problems with the file as a whole
//! (no header, a footer whose count disagrees, an unknown CSV column) are reported as
//! *file* errors: an import loads what it can and says so; a shift-start update refuses a file
//! with such an error and keeps the last good list.

pub mod clew;
pub mod csv;
pub mod ncic;

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::entry::{HotlistEntry, normalize_list_plate, parse_state};

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

/// Where an import writes every bad line, beyond the ones kept for the printed report: a file
/// opened on the first bad line, shared by the files of one import.
#[derive(Clone)]
pub struct ErrorLog {
    path: std::path::PathBuf,
    file: std::sync::Arc<std::sync::Mutex<ErrorLogState>>,
}

#[derive(Default)]
struct ErrorLogState {
    writer: Option<std::io::BufWriter<std::fs::File>>,
    lines: usize,
    failure: Option<String>,
}

impl fmt::Debug for ErrorLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorLog").field("path", &self.path).finish()
    }
}

impl ErrorLog {
    /// A log at `path`, created (owner-only) when the first bad line comes.
    pub fn new(path: std::path::PathBuf) -> Self {
        Self { path, file: std::sync::Arc::default() }
    }

    /// Where it is.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn write(&self, error: &LineError) {
        use std::io::Write as _;
        let Ok(mut state) = self.file.lock() else { return };
        if state.failure.is_some() {
            return;
        }
        if state.writer.is_none() {
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let opened =
                self.path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| options.open(&self.path));
            match opened {
                Ok(file) => state.writer = Some(std::io::BufWriter::new(file)),
                Err(err) => {
                    state.failure = Some(err.to_string());
                    return;
                }
            }
        }
        let written = state.writer.as_mut().map(|w| writeln!(w, "{error}"));
        match written {
            Some(Ok(())) => state.lines += 1,
            Some(Err(err)) => state.failure = Some(err.to_string()),
            None => {}
        }
    }

    /// Flushes the log: the number of lines in it, or why it could not be written.
    pub fn finish(&self) -> Result<usize, String> {
        use std::io::Write as _;
        let mut state = self.file.lock().map_err(|_| "error log poisoned".to_owned())?;
        if let Some(failure) = &state.failure {
            return Err(failure.clone());
        }
        if let Some(writer) = state.writer.as_mut() {
            writer.flush().and_then(|()| writer.get_ref().sync_all()).map_err(|e| e.to_string())?;
        }
        Ok(state.lines)
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
    /// Where every bad line is written as well (an import's report file), if anywhere.
    pub error_log: Option<ErrorLog>,
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
        let error = LineError { file: ctx.source.clone(), line, reason, scope };
        if let Some(log) = &ctx.error_log {
            log.write(&error);
        }
        // File errors are always kept: there are few, and they decide whether an update loads.
        if self.errors.len() < MAX_REPORTED_ERRORS || scope == ErrorScope::File {
            self.errors.push(error);
        } else {
            self.errors_omitted += 1;
        }
    }

    /// True when a file-level error was found.
    pub fn has_file_error(&self) -> bool {
        self.errors.iter().any(|e| e.scope == ErrorScope::File)
    }
}

/// The longest line a parser looks at. A longer line is refused without being held in
/// memory, so a binary file or one without line ends cannot make an import grow.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Parses one file, held in memory, in the given format.
pub fn parse(format: Format, bytes: &[u8], ctx: &ParseContext) -> ParsedFile {
    // A slice never fails to read.
    parse_reader(format, bytes, ctx).unwrap_or_else(|failure| {
        let mut out = ParsedFile::default();
        out.file_error(ctx, failure.line, failure.to_string());
        out
    })
}

/// A file that could not be read to its end.
#[derive(Debug)]
pub struct ReadFailure {
    /// The lines read before the failure.
    pub line: usize,
    /// What failed.
    pub error: std::io::Error,
}

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "read failed after line {}: {}", self.line, self.error)
    }
}

/// Parses a file line by line as it is read: the memory used beyond the entries is one line
/// (at most [`MAX_LINE_BYTES`]) and the reader's buffer, however large the file. A reader
/// that fails part way gives a [`ReadFailure`] and no entries: a list is never half-loaded.
pub fn parse_reader(format: Format, reader: impl BufRead, ctx: &ParseContext) -> Result<ParsedFile, ReadFailure> {
    parse_with(format, reader, ctx, None)
}

/// Like [`parse_reader`], but hands each entry to `sink` as soon as its line is parsed instead
/// of keeping it (the result's `entries` stay empty): an import that only counts holds no
/// entry at all. After a [`ReadFailure`] the entries already handed over are not to be used.
pub fn parse_reader_into(
    format: Format,
    reader: impl BufRead,
    ctx: &ParseContext,
    sink: &mut dyn FnMut(HotlistEntry),
) -> Result<ParsedFile, ReadFailure> {
    parse_with(format, reader, ctx, Some(sink))
}

fn parse_with(
    format: Format,
    reader: impl BufRead,
    ctx: &ParseContext,
    sink: Option<&mut dyn FnMut(HotlistEntry)>,
) -> Result<ParsedFile, ReadFailure> {
    let mut out = ParsedFile::default();
    match format {
        Format::Clew => run(clew::ClewParser::new(ctx, &mut out), reader, &mut out, sink)?,
        Format::Ncic => run(ncic::NcicParser::new(ctx), reader, &mut out, sink)?,
        Format::Csv => run(csv::CsvParser::new(ctx), reader, &mut out, sink)?,
    }
    Ok(out)
}

/// A format's parser, fed one line at a time.
pub(crate) trait LineParser {
    /// One line, numbered from 1, without its `\n` / `\r\n`.
    fn line(&mut self, number: usize, line: &[u8], out: &mut ParsedFile);
    /// A line longer than [`MAX_LINE_BYTES`], which is not handed over.
    fn long_line(&mut self, number: usize, out: &mut ParsedFile);
    /// After the last line.
    fn finish(self, out: &mut ParsedFile);
}

/// The reason given for a line longer than [`MAX_LINE_BYTES`].
pub(crate) fn long_line_reason() -> String {
    format!("line longer than {MAX_LINE_BYTES} bytes")
}

fn run(
    mut parser: impl LineParser,
    reader: impl BufRead,
    out: &mut ParsedFile,
    mut sink: Option<&mut dyn FnMut(HotlistEntry)>,
) -> Result<(), ReadFailure> {
    let result = for_each_line(reader, |number, line| {
        match line {
            Some(line) => parser.line(number, line, out),
            None => parser.long_line(number, out),
        }
        if let Some(sink) = sink.as_mut() {
            out.entries.drain(..).for_each(&mut **sink);
        }
    });
    if let Err(failure) = result {
        *out = ParsedFile::default();
        return Err(failure);
    }
    parser.finish(out);
    Ok(())
}

/// Calls `each` with every line of `reader`, numbered from 1, without its `\n` / `\r\n`
/// (`None` for a line longer than [`MAX_LINE_BYTES`]); returns the number of lines. An empty
/// input has no line; a last line without a line end is a line.
pub(crate) fn for_each_line(
    mut reader: impl BufRead,
    mut each: impl FnMut(usize, Option<&[u8]>),
) -> Result<usize, ReadFailure> {
    let mut line = Vec::new();
    let mut number = 0usize;
    let mut too_long = false;
    let mut open = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(ReadFailure { line: number, error }),
        };
        if available.is_empty() {
            break;
        }
        let end = available.iter().position(|&b| b == b'\n');
        let part = &available[..end.unwrap_or(available.len())];
        if !too_long {
            if line.len() + part.len() > MAX_LINE_BYTES {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(part);
            }
        }
        let consumed = end.map_or(part.len(), |end| end + 1);
        reader.consume(consumed);
        open = true;
        if end.is_some() {
            number += 1;
            emit(number, &line, too_long, &mut each);
            line.clear();
            too_long = false;
            open = false;
        }
    }
    if open {
        number += 1;
        emit(number, &line, too_long, &mut each);
    }
    Ok(number)
}

fn emit(number: usize, line: &[u8], too_long: bool, each: &mut impl FnMut(usize, Option<&[u8]>)) {
    if too_long {
        each(number, None);
    } else {
        each(number, Some(line.strip_suffix(b"\r").unwrap_or(line)));
    }
}

/// The fixed-width columns `0..width` of a record line as text, or why they are not: shorter
/// than `width`, not UTF-8, or holding non-ASCII or control characters. The fixed columns are
/// byte positions, so anything but printable ASCII there means a corrupt line.
pub(crate) fn fixed_columns(line: &[u8], width: usize) -> Result<&str, String> {
    if line.len() < width {
        return Err(format!("truncated record: {} columns, at least {width} needed", line.len()));
    }
    let Ok(fixed) = std::str::from_utf8(&line[..width]) else {
        return Err(format!("not text in columns 0-{width}"));
    };
    if !fixed.is_ascii() || fixed.bytes().any(|b| b.is_ascii_control()) {
        return Err(format!("non-ASCII or control characters in columns 0-{width}"));
    }
    Ok(fixed)
}

/// The plate and state of a fixed-width record, normalized.
pub(crate) fn plate_and_state(plate_field: &str, state_field: &str) -> Result<(String, String), String> {
    let plate = normalize_list_plate(plate_field, false).map_err(|err| format!("plate: {err}"))?;
    let state = parse_state(state_field).ok_or_else(|| format!("bad state {:?}", state_field.trim()))?;
    Ok((plate, state))
}

/// The free-text remarks after a fixed-width record's columns, trimmed.
pub(crate) fn remarks(line: &[u8], from: usize) -> String {
    String::from_utf8_lossy(line.get(from..).unwrap_or_default()).trim().to_owned()
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
    /// The file every bad line was written to (an import's), when there was one.
    pub error_file: Option<std::path::PathBuf>,
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
        match (&self.error_file, self.errors_omitted) {
            (Some(file), 0) => writeln!(f, "every bad line is also in {}", file.display())?,
            (Some(file), omitted) => {
                writeln!(f, "... and {omitted} more errors: every bad line is in {}", file.display())?
            }
            (None, 0) => {}
            (None, omitted) => writeln!(f, "... and {omitted} more errors")?,
        }
        write!(
            f,
            "accepted {}, rejected {}, duplicates merged {}, expired skipped {}",
            self.accepted, self.rejected, self.duplicates_merged, self.expired_skipped
        )
    }
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
            error_log: None,
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

    fn lines(bytes: &[u8], capacity: usize) -> Vec<(usize, Option<Vec<u8>>)> {
        let mut lines = Vec::new();
        let reader = std::io::BufReader::with_capacity(capacity, bytes);
        let count = for_each_line(reader, |n, line| lines.push((n, line.map(<[u8]>::to_vec)))).unwrap();
        assert_eq!(count, lines.len());
        lines
    }

    #[test]
    fn lines_are_numbered_from_one() {
        let some = |text: &str| Some(text.as_bytes().to_vec());
        // A reader buffer of 1 or 3 bytes cuts lines (and `\r\n`) across reads.
        for capacity in [1, 3, 8192] {
            assert_eq!(
                lines(b"a\r\nbb\n\nc", capacity),
                vec![(1, some("a")), (2, some("bb")), (3, some("")), (4, some("c"))]
            );
            assert_eq!(lines(b"", capacity), vec![]);
            assert_eq!(lines(b"x\n", capacity), vec![(1, some("x"))]);
        }
    }

    #[test]
    fn long_lines_are_refused_without_being_held() {
        let mut text = vec![b'x'; MAX_LINE_BYTES + 1];
        text.extend_from_slice(b"\nok\n");
        text.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES));
        assert_eq!(
            lines(&text, 4096),
            vec![(1, None), (2, Some(b"ok".to_vec())), (3, Some(vec![b'y'; MAX_LINE_BYTES]))]
        );
        let parsed = parse(Format::Ncic, &text, &ctx("x.ncic"));
        assert_eq!(parsed.errors[0].to_string(), format!("x.ncic:1: line longer than {MAX_LINE_BYTES} bytes"));
    }

    #[test]
    fn a_failing_reader_gives_no_entries() {
        struct Failing(usize);
        impl std::io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("device gone"));
                }
                let line = b"plate\nABC123\n";
                let n = line.len().min(buf.len());
                buf[..n].copy_from_slice(&line[..n]);
                self.0 -= 1;
                Ok(n)
            }
        }
        let failure = parse_reader(Format::Csv, std::io::BufReader::new(Failing(2)), &ctx("a.csv")).unwrap_err();
        assert_eq!(failure.to_string(), "read failed after line 4: device gone");
        let whole = parse_reader(Format::Csv, &b"plate\nABC123\n"[..], &ctx("a.csv")).unwrap();
        assert_eq!(whole.entries.len(), 1);
    }

    #[test]
    fn formats_from_names() {
        assert_eq!(Format::from_path(Path::new("svs.tbl")), Some(Format::Clew));
        assert_eq!(Format::from_path(Path::new("list.CSV")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("extract.ncic")), Some(Format::Ncic));
        assert_eq!(Format::from_path(Path::new("README")), None);
    }
}
