//! Agency hot lists as CSV with a header row: BOLO lists, special lists, the demo list.
//!
//! The delimiter (`,` `;` tab or `|`) is the one the header uses most; fields may be quoted
//! with `"` (a doubled `""` inside is a quote); a UTF-8 byte-order mark is ignored. Columns,
//! by header name (case-insensitive; only `plate` is required):
//!
//! `plate` (may hold `?` and `*`), `state`, `list`, `category`, `priority` (1-9), `year`,
//! `make`, `model`, `colour`/`color`, `record_number`/`ncic`, `reason`,
//! `entry_date` (`YYYY-MM-DD` or `YYYYMMDD`), `expires` (RFC 3339, or a date: the entry
//! expires at the end of that day, UTC), `covert` (`yes`/`no`, `true`/`false`, `1`/`0`).
//!
//! An unknown column is a file error, because a misspelt `expires` would otherwise make
//! entries that never expire.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};

use super::{LineParser, ParseContext, ParsedFile, is_blank, long_line_reason, parse_compact_date};
use crate::hotlist::entry::{
    Category, HotlistEntry, PRIORITY_HIGHEST, PRIORITY_LOWEST, normalize_list_plate, parse_state,
};

/// A column patrol-alpr understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Plate,
    State,
    List,
    Category,
    Priority,
    Year,
    Make,
    Model,
    Colour,
    RecordNumber,
    Reason,
    EntryDate,
    Expires,
    Covert,
}

fn column_for(name: &str) -> Option<Column> {
    let key: String = name.trim().chars().filter(|c| !matches!(c, ' ' | '_' | '-')).collect::<String>().to_lowercase();
    Some(match key.as_str() {
        "plate" | "licenseplate" | "licenceplate" => Column::Plate,
        "state" | "province" => Column::State,
        "list" => Column::List,
        "category" => Column::Category,
        "priority" => Column::Priority,
        "year" => Column::Year,
        "make" => Column::Make,
        "model" => Column::Model,
        "colour" | "color" => Column::Colour,
        "recordnumber" | "ncic" | "ncicnumber" | "record" => Column::RecordNumber,
        "reason" => Column::Reason,
        "entrydate" | "date" => Column::EntryDate,
        "expires" | "expiry" | "expiration" => Column::Expires,
        "covert" => Column::Covert,
        _ => return None,
    })
}

/// Parses a CSV hot list held in memory. The list name is the `list` column, else the
/// context's override, else the file's stem.
pub fn parse(bytes: &[u8], ctx: &ParseContext) -> ParsedFile {
    super::parse(super::Format::Csv, bytes, ctx)
}

/// Where the CSV parser stands.
enum Stage {
    /// Before the header row.
    Header,
    /// Reading records under this header.
    Records { delimiter: char, columns: Vec<Option<Column>> },
    /// The header was unusable (reported): the rest of the file is ignored.
    Refused,
}

/// The CSV parser's state between lines.
pub(crate) struct CsvParser<'a> {
    ctx: &'a ParseContext,
    default_list: String,
    stage: Stage,
}

impl<'a> CsvParser<'a> {
    /// A parser for one file.
    pub(crate) fn new(ctx: &'a ParseContext) -> Self {
        let default_list = ctx.list.clone().unwrap_or_else(|| {
            Path::new(&ctx.source).file_stem().and_then(|s| s.to_str()).unwrap_or("csv").to_ascii_lowercase()
        });
        Self { ctx, default_list, stage: Stage::Header }
    }

    /// Reads the header row: the delimiter and the columns, or why the file is refused.
    fn header(&self, number: usize, header: &[u8], out: &mut ParsedFile) -> Stage {
        let ctx = self.ctx;
        let Ok(header) = std::str::from_utf8(header) else {
            out.file_error(ctx, number, "header row is not UTF-8 text");
            return Stage::Refused;
        };
        let delimiter = detect_delimiter(header);
        let names = match split_fields(header, delimiter) {
            Ok(names) => names,
            Err(reason) => {
                out.file_error(ctx, number, format!("header row: {reason}"));
                return Stage::Refused;
            }
        };
        let mut columns = Vec::with_capacity(names.len());
        for name in &names {
            match column_for(name) {
                Some(column) if columns.contains(&Some(column)) => {
                    out.file_error(ctx, number, format!("column {name:?} appears twice"));
                    return Stage::Refused;
                }
                Some(column) => columns.push(Some(column)),
                None => {
                    out.file_error(ctx, number, format!("unknown column {name:?}"));
                    columns.push(None);
                }
            }
        }
        if !columns.contains(&Some(Column::Plate)) {
            out.file_error(ctx, number, "no plate column");
            return Stage::Refused;
        }
        Stage::Records { delimiter, columns }
    }
}

impl LineParser for CsvParser<'_> {
    fn line(&mut self, number: usize, line: &[u8], out: &mut ParsedFile) {
        // A UTF-8 byte-order mark can only start the first line.
        let line = if number == 1 { line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line) } else { line };
        if is_blank(line) {
            return;
        }
        match &self.stage {
            Stage::Header => self.stage = self.header(number, line, out),
            Stage::Records { delimiter, columns } => {
                let result = std::str::from_utf8(line)
                    .map_err(|_| "not UTF-8 text".to_owned())
                    .and_then(|line| split_fields(line, *delimiter))
                    .and_then(|fields| {
                        if fields.len() != columns.len() {
                            return Err(format!("{} fields, the header has {}", fields.len(), columns.len()));
                        }
                        parse_record(columns, &fields, &self.default_list, self.ctx)
                    });
                match result {
                    Ok(entry) => out.entries.push(entry),
                    Err(reason) => out.line_error(self.ctx, number, reason),
                }
            }
            Stage::Refused => {}
        }
    }

    fn long_line(&mut self, number: usize, out: &mut ParsedFile) {
        match self.stage {
            Stage::Header => {
                out.file_error(self.ctx, number, format!("header row: {}", long_line_reason()));
                self.stage = Stage::Refused;
            }
            Stage::Records { .. } => out.line_error(self.ctx, number, long_line_reason()),
            Stage::Refused => {}
        }
    }

    fn finish(self, out: &mut ParsedFile) {
        if matches!(self.stage, Stage::Header) {
            out.file_error(self.ctx, 0, "empty file: no header row");
        }
    }
}

/// The delimiter the header uses most (outside quotes); `,` when it uses none.
fn detect_delimiter(header: &str) -> char {
    let mut counts = [0usize; 4];
    let candidates = [',', ';', '\t', '|'];
    let mut quoted = false;
    for c in header.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = candidates.iter().position(|&d| d == c) {
            counts[i] += 1;
        }
    }
    let (best, count) = counts.iter().enumerate().max_by_key(|&(i, &n)| (n, std::cmp::Reverse(i))).unwrap_or((0, &0));
    if *count == 0 { ',' } else { candidates[best] }
}

/// Splits one line into fields, honouring quotes.
fn split_fields(line: &str, delimiter: char) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' {
            if !field.trim().is_empty() || was_quoted {
                return Err("quote inside an unquoted field".into());
            }
            field.clear();
            quoted = true;
            was_quoted = true;
        } else if c == delimiter {
            fields.push(std::mem::take(&mut field));
            was_quoted = false;
        } else if was_quoted {
            if !c.is_whitespace() {
                return Err("text after a closing quote".into());
            }
        } else {
            field.push(c);
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    fields.push(field);
    Ok(fields)
}

fn parse_record(
    columns: &[Option<Column>],
    fields: &[String],
    default_list: &str,
    ctx: &ParseContext,
) -> Result<HotlistEntry, String> {
    let get =
        |wanted: Column| -> &str { columns.iter().position(|c| *c == Some(wanted)).map_or("", |i| fields[i].trim()) };
    let plate = normalize_list_plate(get(Column::Plate), true).map_err(|err| format!("plate: {err}"))?;
    let category = match get(Column::Category) {
        "" => Category::AgencyDefined,
        text => Category::parse(text).ok_or_else(|| format!("unknown category {text:?}"))?,
    };
    let list = match get(Column::List) {
        "" => default_list,
        list => list,
    };
    let mut entry = HotlistEntry::new(&plate, category, &list.to_ascii_lowercase());
    entry.state = match get(Column::State) {
        "" => None,
        text => Some(parse_state(text).ok_or_else(|| format!("bad state {text:?}"))?),
    };
    if let text @ ("1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9") = get(Column::Priority) {
        entry.priority = text.parse().unwrap_or(PRIORITY_LOWEST);
    } else if !get(Column::Priority).is_empty() {
        return Err(format!(
            "bad priority {:?}: {PRIORITY_HIGHEST} (most urgent) to {PRIORITY_LOWEST}",
            get(Column::Priority)
        ));
    }
    entry.vehicle.year = match get(Column::Year) {
        "" => None,
        text => match text.parse::<u16>() {
            Ok(year) if (1900..=2100).contains(&year) => Some(year),
            _ => return Err(format!("bad vehicle year {text:?}")),
        },
    };
    entry.vehicle.make = get(Column::Make).to_owned();
    entry.vehicle.model = get(Column::Model).to_owned();
    entry.vehicle.colour = get(Column::Colour).to_owned();
    entry.record_number = get(Column::RecordNumber).to_owned();
    entry.reason = get(Column::Reason).to_owned();
    entry.entry_date = match get(Column::EntryDate) {
        "" => None,
        text => Some(parse_date(text).ok_or_else(|| format!("bad entry date {text:?}"))?),
    };
    entry.expires = match get(Column::Expires) {
        "" => None,
        text => Some(parse_expiry(text).ok_or_else(|| format!("bad expiry {text:?}"))?),
    };
    entry.covert = match get(Column::Covert).to_ascii_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" => false,
        "yes" | "y" | "true" | "1" => true,
        other => return Err(format!("bad covert flag {other:?}: yes or no")),
    };
    entry.source = ctx.source.clone();
    entry.version = ctx.version.clone();
    Ok(entry)
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().or_else(|| parse_compact_date(text))
}

/// An RFC 3339 instant, or a date meaning the end of that day (UTC).
pub(crate) fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&Utc));
    }
    let next_day = parse_date(text)?.checked_add_days(chrono::Days::new(1))?;
    Some(next_day.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, messages};
    use super::*;

    #[test]
    fn delimiters_and_quotes() {
        assert_eq!(detect_delimiter("plate,state"), ',');
        assert_eq!(detect_delimiter("plate;state;reason"), ';');
        assert_eq!(detect_delimiter("plate\tstate"), '\t');
        assert_eq!(detect_delimiter("plate|state"), '|');
        assert_eq!(detect_delimiter("\"a,b\";c"), ';');
        assert_eq!(detect_delimiter("plate"), ',');
        assert_eq!(
            split_fields("a,\"b,c\",\"say \"\"hi\"\"\"", ','),
            Ok(vec!["a".into(), "b,c".into(), "say \"hi\"".into()])
        );
        assert_eq!(split_fields("a,,", ','), Ok(vec!["a".into(), "".into(), "".into()]));
        assert_eq!(split_fields("a,\"b", ','), Err("unterminated quote".into()));
        assert_eq!(split_fields("a,b\"c\"", ','), Err("quote inside an unquoted field".into()));
        assert_eq!(split_fields("\"b\"x,c", ','), Err("text after a closing quote".into()));
    }

    #[test]
    fn good_file_with_bom_and_semicolons() {
        let text = "\u{feff}Plate;State;Category;Priority;Year;Make;Model;Color;NCIC;Reason;Entry_Date;Expires;Covert\r\n\
                    DEMO001;CA;stolen vehicle;2;2015;TOYT;CAM;BLU;V000000001;\"DEMO; fictitious\";2026-11-01;2026-12-31;no\r\n\
                    7DMO?23;;bolo;;;;;;;DEMO partial;;2026-12-01T08:00:00Z;yes\r\n";
        let parsed = parse(text.as_bytes(), &ctx("demo.csv"));
        assert_eq!(messages(&parsed), Vec::<String>::new());
        let [first, second] = &parsed.entries[..] else { panic!("two entries expected") };
        assert_eq!(first.plate, "DEMO001");
        assert_eq!(first.state.as_deref(), Some("CA"));
        assert_eq!(first.category, Category::StolenVehicle);
        assert_eq!(first.priority, 2);
        assert_eq!(first.vehicle.colour, "BLU");
        assert_eq!(first.record_number, "V000000001");
        assert_eq!(first.reason, "DEMO; fictitious");
        assert_eq!(first.list, "demo");
        assert_eq!(first.expires.unwrap().to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert!(!first.covert);
        assert_eq!(second.plate, "7DMO?23");
        assert_eq!(second.priority, Category::Bolo.default_priority());
        assert!(second.covert);
        assert_eq!(second.expires.unwrap().to_rfc3339(), "2026-12-01T08:00:00+00:00");
    }

    fn check(text: &[u8], entries: usize, expected: &[&str]) {
        let parsed = parse(text, &ctx("l.csv"));
        assert_eq!(messages(&parsed), expected);
        assert_eq!(parsed.entries.len(), entries);
    }

    #[test]
    fn malformed_files() {
        check(b"", 0, &["l.csv:0: empty file: no header row"]);
        check(b"state,reason\nCA,x\n", 0, &["l.csv:1: no plate column"]);
        check(b"plate,expiry_date\nABC123,2026-01-01\n", 1, &["l.csv:1: unknown column \"expiry_date\""]);
        check(
            b"plate,state,priority,expires,year,category,covert\n\
              ABC123,ZZ,1,,,,\n\
              ABC124,CA,0,,,,\n\
              ABC125,CA,1,2026-02-30,,,\n\
              ABC126,CA,1,,19,,\n\
              ABC127,CA,1,,,parking,\n\
              ABC128,CA,1,,,,maybe\n\
              ABC129,CA\n\
              \"ABC130,CA,1,,,,\n\
              *1*,CA,1,,,,\n\
              AB\xff131,CA,1,,,,\n\
              ABC132,CA,1,,,,\n",
            1,
            &[
                "l.csv:2: bad state \"ZZ\"",
                "l.csv:3: bad priority \"0\": 1 (most urgent) to 9",
                "l.csv:4: bad expiry \"2026-02-30\"",
                "l.csv:5: bad vehicle year \"19\"",
                "l.csv:6: unknown category \"parking\"",
                "l.csv:7: bad covert flag \"maybe\": yes or no",
                "l.csv:8: 2 fields, the header has 7",
                "l.csv:9: unterminated quote",
                "l.csv:10: plate: pattern \"*1*\" is too broad: it needs at least 3 letters or digits",
                "l.csv:11: not UTF-8 text",
            ],
        );
        check(b"\x00\x01\x02\xff\xfe", 0, &["l.csv:1: header row is not UTF-8 text"]);
    }
}
