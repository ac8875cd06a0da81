//! California DOJ CLEW fixed-width extracts: `svs.tbl` (stolen vehicles), `sfr.tbl` (felony
//! vehicles), `slr.tbl` (stolen plates).
//!
//! Layout (byte columns, from 0; see `docs/hotlists.md` for a sample):
//!
//! | columns | field |
//! |---|---|
//! | 0-8 | plate, left-justified, space-padded |
//! | 8-10 | state |
//! | 10-12 | county code (two digits, blank outside California) |
//! | 12-20 | date of loss, `YYYYMMDD` |
//! | 20- | remarks (optional, kept as the entry's reason) |
//!
//! The first line is a header (kept for nothing but skipped); the last is
//! `TOTAL RECORD n`, whose count must equal the number of record lines, or the file is
//! suspect (truncated or padded).

use std::path::Path;

use super::{
    LineParser, ParseContext, ParsedFile, fixed_columns, is_blank, long_line_reason, parse_compact_date,
    plate_and_state, remarks,
};
use crate::hotlist::entry::{Category, HotlistEntry};

/// The shortest record line: everything up to the end of the date.
const RECORD_MIN_LEN: usize = 20;

/// The list a CLEW file holds, from its name (`svs*`, `sfr*`, `slr*`).
pub fn category_for(source: &str) -> Option<(Category, &'static str)> {
    let stem = Path::new(source).file_stem()?.to_str()?.to_ascii_lowercase();
    [("svs", Category::StolenVehicle), ("sfr", Category::FelonyVehicle), ("slr", Category::StolenPlate)]
        .into_iter()
        .find(|(prefix, _)| stem.starts_with(prefix))
        .map(|(prefix, category)| (category, prefix))
}

/// Parses a CLEW file held in memory; the list is taken from the file name (or the
/// context's override).
pub fn parse(bytes: &[u8], ctx: &ParseContext) -> ParsedFile {
    super::parse(super::Format::Clew, bytes, ctx)
}

/// The CLEW parser's state between lines.
pub(crate) struct ClewParser<'a> {
    ctx: &'a ParseContext,
    /// The category and list name; `None` when the file name says neither (a file error
    /// already reported), and then every line is ignored.
    list: Option<(Category, String)>,
    header_seen: bool,
    records: usize,
    /// The footer's line and count.
    footer: Option<(usize, Option<usize>)>,
}

impl<'a> ClewParser<'a> {
    /// A parser for one file; reports at once a file whose list cannot be told.
    pub(crate) fn new(ctx: &'a ParseContext, out: &mut ParsedFile) -> Self {
        let list = match (category_for(&ctx.source), ctx.list.as_deref()) {
            (Some((category, prefix)), list) => Some((category, list.unwrap_or(prefix).to_owned())),
            (None, Some(list)) => match category_for(list) {
                Some((category, _)) => Some((category, list.to_owned())),
                None => {
                    out.file_error(ctx, 0, format!("list {list:?} is not svs, sfr or slr"));
                    None
                }
            },
            (None, None) => {
                out.file_error(ctx, 0, "cannot tell the list from the file name: expected svs, sfr or slr");
                None
            }
        };
        Self { ctx, list, header_seen: false, records: 0, footer: None }
    }

    /// Where a non-blank line falls: `false` when it was the header or came after the
    /// footer (and was dealt with), `true` when it is a record line or the footer.
    fn placed(&mut self, number: usize, footer: bool, out: &mut ParsedFile) -> bool {
        if !self.header_seen {
            self.header_seen = true;
            if !footer {
                return false;
            }
            out.file_error(self.ctx, number, "no header line before the footer");
        }
        if let Some((footer_line, _)) = self.footer {
            out.line_error(self.ctx, number, format!("line after the footer on line {footer_line}"));
            return false;
        }
        true
    }
}

impl LineParser for ClewParser<'_> {
    fn line(&mut self, number: usize, line: &[u8], out: &mut ParsedFile) {
        if self.list.is_none() || is_blank(line) || !self.placed(number, is_footer(line), out) {
            return;
        }
        if is_footer(line) {
            self.footer = Some((number, parse_footer(line)));
            return;
        }
        self.records += 1;
        if let Some((category, list)) = &self.list {
            match parse_record(line, *category, list, self.ctx) {
                Ok(entry) => out.entries.push(entry),
                Err(reason) => out.line_error(self.ctx, number, reason),
            }
        }
    }

    fn long_line(&mut self, number: usize, out: &mut ParsedFile) {
        if self.list.is_none() || !self.placed(number, false, out) {
            return;
        }
        self.records += 1;
        out.line_error(self.ctx, number, long_line_reason());
    }

    fn finish(self, out: &mut ParsedFile) {
        if self.list.is_none() {
            return;
        }
        let ctx = self.ctx;
        if !self.header_seen {
            out.file_error(ctx, 0, "empty file: no header, records or footer");
            return;
        }
        match self.footer {
            None => out.file_error(ctx, 0, "no TOTAL RECORD footer: the file may be truncated"),
            Some((line, None)) => out.file_error(ctx, line, "footer without a record count"),
            Some((line, Some(count))) if count != self.records => {
                out.file_error(ctx, line, format!("footer says {count} records, the file has {}", self.records));
            }
            Some(_) => {}
        }
    }
}

fn is_footer(line: &[u8]) -> bool {
    line.len() >= 12 && line[..12].eq_ignore_ascii_case(b"TOTAL RECORD")
}

/// The count of `TOTAL RECORD n` (also `TOTAL RECORDS: n`).
fn parse_footer(line: &[u8]) -> Option<usize> {
    let rest = std::str::from_utf8(&line[12..]).ok()?;
    let rest = rest.trim_start_matches(['S', 's']).trim_start_matches([':', ' ', '\t']).trim();
    rest.parse().ok()
}

fn parse_record(line: &[u8], category: Category, list: &str, ctx: &ParseContext) -> Result<HotlistEntry, String> {
    let fixed = fixed_columns(line, RECORD_MIN_LEN)?;
    let (plate, state) = plate_and_state(&fixed[0..8], &fixed[8..10])?;
    let county = fixed[10..12].trim();
    if !county.is_empty() && !county.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad county code {county:?}"));
    }
    let date_field = &fixed[12..20];
    let date = parse_compact_date(date_field).ok_or_else(|| format!("bad date of loss {date_field:?}"))?;
    if date > ctx.now.date_naive() + chrono::Days::new(1) {
        return Err(format!("date of loss {date} is in the future"));
    }
    let remarks = remarks(line, RECORD_MIN_LEN);
    let mut entry = HotlistEntry::new(&plate, category, list);
    entry.state = Some(state);
    entry.entry_date = Some(date);
    entry.reason = if county.is_empty() { remarks } else { format!("county {county}; {remarks}") }
        .trim_end_matches([';', ' '])
        .to_owned();
    entry.source = ctx.source.clone();
    entry.version = ctx.version.clone();
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, messages};
    use super::*;

    const GOOD: &str = "\
SVS 20261128 CALIFORNIA DOJ STOLEN VEHICLE SYSTEM
7ABC123 CA1920261120 BLK HOND CIVIC
4XYZ55  CA  20261001
ABC1234 NV  20250315
TOTAL RECORD 3
";

    #[test]
    fn good_file() {
        let parsed = parse(GOOD.as_bytes(), &ctx("svs.tbl"));
        assert_eq!(messages(&parsed), Vec::<String>::new());
        assert_eq!(parsed.entries.len(), 3);
        let first = &parsed.entries[0];
        assert_eq!(first.plate, "7ABC123");
        assert_eq!(first.state.as_deref(), Some("CA"));
        assert_eq!(first.category, Category::StolenVehicle);
        assert_eq!(first.list, "svs");
        assert_eq!(first.entry_date, chrono::NaiveDate::from_ymd_opt(2026, 11, 20));
        assert_eq!(first.reason, "county 19; BLK HOND CIVIC");
        assert_eq!(parsed.entries[2].state.as_deref(), Some("NV"));
        assert_eq!(parse(GOOD.as_bytes(), &ctx("SFR.TBL")).entries[0].category, Category::FelonyVehicle);
        assert_eq!(parse(GOOD.as_bytes(), &ctx("slr_20261128.tbl")).entries[0].category, Category::StolenPlate);
    }

    fn check(source: &str, text: &[u8], entries: usize, expected: &[&str]) {
        let parsed = parse(text, &ctx(source));
        assert_eq!(messages(&parsed), expected, "{source}");
        assert_eq!(parsed.entries.len(), entries, "{source}");
    }

    #[test]
    fn malformed_files() {
        check(
            "svs.tbl",
            b"HDR\n7ABC123 CA192026\nABC1234 ZZ  20250315\nABC1235 CA  20251345\nABC1236 CA  20250315\nTOTAL RECORD 4\n",
            1,
            &[
                "svs.tbl:2: truncated record: 16 columns, at least 20 needed",
                "svs.tbl:3: bad state \"ZZ\"",
                "svs.tbl:4: bad date of loss \"20251345\"",
            ],
        );
        check(
            "svs.tbl",
            b"HDR\nABC1236 CA  20250315\nTOTAL RECORD 5\n",
            1,
            &["svs.tbl:3: footer says 5 records, the file has 1"],
        );
        check(
            "svs.tbl",
            b"HDR\nABC1236 CA  20250315\n",
            1,
            &["svs.tbl:0: no TOTAL RECORD footer: the file may be truncated"],
        );
        check("svs.tbl", b"", 0, &["svs.tbl:0: empty file: no header, records or footer"]);
        check("svs.tbl", b"HDR\nTOTAL RECORD x\n", 0, &["svs.tbl:2: footer without a record count"]);
        check(
            "svs.tbl",
            b"HDR\nABC1236 CA  20250315\nTOTAL RECORDS: 1\nABC1237 CA  20250315\n",
            1,
            &["svs.tbl:4: line after the footer on line 3"],
        );
        check(
            "list.tbl",
            GOOD.as_bytes(),
            0,
            &["list.tbl:0: cannot tell the list from the file name: expected svs, sfr or slr"],
        );
        check(
            "svs.tbl",
            b"HDR\n\xff\xfe\x00garbage\x01\x02\x03\x04\x05\x06\x07\x08\x09\x10\x11\nAB\xc3\xa9123 CA  20250315\nABC123  CA  29990101\nTOTAL RECORD 3\n",
            0,
            &[
                "svs.tbl:2: not text in columns 0-20",
                "svs.tbl:3: non-ASCII or control characters in columns 0-20",
                "svs.tbl:4: date of loss 2999-01-01 is in the future",
            ],
        );
    }
}
