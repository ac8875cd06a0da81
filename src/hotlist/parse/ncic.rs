//! NCIC licence-plate-reader extracts: one fixed-width record per line, no header or footer.
//!
//! The layout patrol-alpr supports (byte columns, from 0; sample in `docs/hotlists.md`):
//!
//! | columns | field |
//! |---|---|
//! | 0 | record type (see [`category_for_type`]) |
//! | 1-11 | NCIC number |
//! | 11-19 | plate, left-justified, space-padded |
//! | 19-21 | state |
//! | 21-25 | vehicle year (`YYYY`, blank or `0000` when unknown) |
//! | 25-29 | make (NCIC VMA code) |
//! | 29-32 | model (VMO code) |
//! | 32-35 | colour (VCO code) |
//! | 35-43 | entry date `YYYYMMDD` |
//! | 43- | remarks (optional) |

use super::{
    LineParser, ParseContext, ParsedFile, fixed_columns, is_blank, long_line_reason, parse_compact_date,
    plate_and_state, remarks,
};
use crate::hotlist::entry::{Category, HotlistEntry, Vehicle};

/// The shortest record: everything up to the end of the entry date.
const RECORD_MIN_LEN: usize = 43;

/// The category of an NCIC record type: A AMBER alert, F felony vehicle, W wanted person,
/// V stolen vehicle, P stolen plate, M missing person, X sex offender, B BOLO, and G (gang)
/// and T (known or suspected terrorist) as agency-defined lists.
pub fn category_for_type(code: u8) -> Option<Category> {
    Some(match code.to_ascii_uppercase() {
        b'A' => Category::AmberAlert,
        b'F' => Category::FelonyVehicle,
        b'W' => Category::WantedPerson,
        b'V' => Category::StolenVehicle,
        b'P' => Category::StolenPlate,
        b'M' => Category::MissingPerson,
        b'X' => Category::SexOffender,
        b'B' => Category::Bolo,
        b'G' | b'T' => Category::AgencyDefined,
        _ => return None,
    })
}

/// Parses an NCIC extract held in memory. The list is `ncic` unless the context names
/// another.
pub fn parse(bytes: &[u8], ctx: &ParseContext) -> ParsedFile {
    super::parse(super::Format::Ncic, bytes, ctx)
}

/// The NCIC parser's state between lines.
pub(crate) struct NcicParser<'a> {
    ctx: &'a ParseContext,
    list: String,
    any_line: bool,
}

impl<'a> NcicParser<'a> {
    /// A parser for one file.
    pub(crate) fn new(ctx: &'a ParseContext) -> Self {
        Self { ctx, list: ctx.list.clone().unwrap_or_else(|| "ncic".to_owned()), any_line: false }
    }
}

impl LineParser for NcicParser<'_> {
    fn line(&mut self, number: usize, line: &[u8], out: &mut ParsedFile) {
        if is_blank(line) {
            return;
        }
        self.any_line = true;
        match parse_record(line, &self.list, self.ctx) {
            Ok(entry) => out.entries.push(entry),
            Err(reason) => out.line_error(self.ctx, number, reason),
        }
    }

    fn long_line(&mut self, number: usize, out: &mut ParsedFile) {
        self.any_line = true;
        out.line_error(self.ctx, number, long_line_reason());
    }

    fn finish(self, out: &mut ParsedFile) {
        if !self.any_line {
            out.file_error(self.ctx, 0, "empty file: an NCIC extract has at least one record");
        }
    }
}

fn parse_record(line: &[u8], list: &str, ctx: &ParseContext) -> Result<HotlistEntry, String> {
    let fixed = fixed_columns(line, RECORD_MIN_LEN)?;
    let code = fixed.as_bytes()[0];
    let category = category_for_type(code).ok_or_else(|| format!("unknown record type {:?}", char::from(code)))?;
    let (plate, state) = plate_and_state(&fixed[11..19], &fixed[19..21])?;
    let year_field = fixed[21..25].trim();
    let year = match year_field {
        "" | "0000" => None,
        text => match text.parse::<u16>() {
            Ok(year) if (1900..=2100).contains(&year) => Some(year),
            _ => return Err(format!("bad vehicle year {text:?}")),
        },
    };
    let date_field = &fixed[35..43];
    let date = parse_compact_date(date_field).ok_or_else(|| format!("bad entry date {date_field:?}"))?;
    let mut entry = HotlistEntry::new(&plate, category, list);
    entry.state = Some(state);
    entry.record_number = fixed[1..11].trim().to_owned();
    entry.vehicle = Vehicle {
        year,
        make: fixed[25..29].trim().to_owned(),
        model: fixed[29..32].trim().to_owned(),
        colour: fixed[32..35].trim().to_owned(),
    };
    entry.entry_date = Some(date);
    entry.reason = remarks(line, RECORD_MIN_LEN);
    entry.source = ctx.source.clone();
    entry.version = ctx.version.clone();
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, messages};
    use super::*;

    const GOOD: &str = "\
AA123456789DEMO001 CA2018TOYTCAMWHI20261127CHILD ABDUCTION SUSPECT VEHICLE
VV987654321 7ABC123CA2019HONDCIVBLK20261120
PP555000111XYZ789  NV              20261001
";

    #[test]
    fn good_file() {
        let parsed = parse(GOOD.as_bytes(), &ctx("daily.ncic"));
        assert_eq!(messages(&parsed), Vec::<String>::new());
        assert_eq!(parsed.entries.len(), 3);
        let amber = &parsed.entries[0];
        assert_eq!(amber.category, Category::AmberAlert);
        assert_eq!(amber.plate, "DEMO001");
        assert_eq!(amber.record_number, "A123456789");
        assert_eq!(
            amber.vehicle,
            Vehicle { year: Some(2018), make: "TOYT".into(), model: "CAM".into(), colour: "WHI".into() }
        );
        assert_eq!(amber.reason, "CHILD ABDUCTION SUSPECT VEHICLE");
        assert_eq!(amber.list, "ncic");
        assert_eq!(parsed.entries[1].plate, "7ABC123");
        assert_eq!(parsed.entries[2].vehicle, Vehicle::default());
        assert_eq!(parsed.entries[2].category, Category::StolenPlate);
    }

    fn check(text: &[u8], entries: usize, expected: &[&str]) {
        let parsed = parse(text, &ctx("x.ncic"));
        assert_eq!(messages(&parsed), expected);
        assert_eq!(parsed.entries.len(), entries);
    }

    #[test]
    fn malformed_files() {
        check(
            b"ZA123456789DEMO001 CA2018TOYTCAMWHI20261127\n\
              VV987654321 7ABC123CA2019HONDCIVBLK2026112\n\
              VV987654321 7ABC123QQ2019HONDCIVBLK20261120\n\
              VV987654321 7ABC123CA20X9HONDCIVBLK20261120\n\
              VV987654321 7ABC123CA2019HONDCIVBLK20261320\n\
              VV987654321        CA2019HONDCIVBLK20261120\n\
              VV987654321 7ABC123CA2019HONDCIVBLK20261120\n",
            1,
            &[
                "x.ncic:1: unknown record type 'Z'",
                "x.ncic:2: truncated record: 42 columns, at least 43 needed",
                "x.ncic:3: bad state \"QQ\"",
                "x.ncic:4: bad vehicle year \"20X9\"",
                "x.ncic:5: bad entry date \"20261320\"",
                "x.ncic:6: plate: empty plate",
            ],
        );
        check(b"", 0, &["x.ncic:0: empty file: an NCIC extract has at least one record"]);
        check(b"\n  \n", 0, &["x.ncic:0: empty file: an NCIC extract has at least one record"]);
        check(&[0xffu8; 100], 0, &["x.ncic:1: not text in columns 0-43"]);
    }
}
