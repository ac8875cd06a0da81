//! A hot-list entry: the plate (or plate pattern), where it is from, why it is wanted.
//!
//! Part of the policy core: no GUI, camera or audio dependency. Parsers produce
//! [`HotlistEntry`] values; the index packs them into a compact form and hands them back on a
//! hit.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Why a plate is on a list. The categories are the official law-enforcement purposes the
/// agency's order allows (S1): each hit carries one, so every alert states its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// An AMBER alert (child abduction).
    AmberAlert,
    /// A vehicle wanted in connection with a felony.
    FelonyVehicle,
    /// A vehicle associated with a wanted person.
    WantedPerson,
    /// A vehicle associated with a missing person.
    MissingPerson,
    /// A stolen vehicle.
    StolenVehicle,
    /// A stolen plate.
    StolenPlate,
    /// A vehicle of a registered sex offender.
    SexOffender,
    /// A manual "be on the lookout" entry.
    Bolo,
    /// An agency-defined list (the list name says which).
    AgencyDefined,
}

impl Category {
    /// All categories, in the order of their default priority.
    pub const ALL: [Category; 9] = [
        Category::AmberAlert,
        Category::FelonyVehicle,
        Category::WantedPerson,
        Category::MissingPerson,
        Category::StolenVehicle,
        Category::StolenPlate,
        Category::SexOffender,
        Category::Bolo,
        Category::AgencyDefined,
    ];

    /// The category's name as written in CSV files, manifests and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::AmberAlert => "amber_alert",
            Category::FelonyVehicle => "felony_vehicle",
            Category::WantedPerson => "wanted_person",
            Category::MissingPerson => "missing_person",
            Category::StolenVehicle => "stolen_vehicle",
            Category::StolenPlate => "stolen_plate",
            Category::SexOffender => "sex_offender",
            Category::Bolo => "bolo",
            Category::AgencyDefined => "agency_defined",
        }
    }

    /// Parses a category name; case, spaces, dashes and underscores are ignored, and the
    /// short forms used by agencies (`amber`, `sv`, `felony`...) are accepted.
    pub fn parse(text: &str) -> Option<Category> {
        let key: String = text.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
        Some(match key.as_str() {
            "amberalert" | "amber" => Category::AmberAlert,
            "felonyvehicle" | "felony" | "sfr" => Category::FelonyVehicle,
            "wantedperson" | "wanted" => Category::WantedPerson,
            "missingperson" | "missing" => Category::MissingPerson,
            "stolenvehicle" | "sv" | "svs" => Category::StolenVehicle,
            "stolenplate" | "sp" | "slr" => Category::StolenPlate,
            "sexoffender" | "sexoff" => Category::SexOffender,
            "bolo" => Category::Bolo,
            "agencydefined" | "agency" | "other" => Category::AgencyDefined,
            _ => return None,
        })
    }

    /// The priority an entry of this category gets when its list does not say: 1 is the most
    /// urgent. Life-safety lists (AMBER, missing persons) and felonies come first.
    pub fn default_priority(self) -> u8 {
        match self {
            Category::AmberAlert => 1,
            Category::FelonyVehicle | Category::WantedPerson | Category::MissingPerson => 2,
            Category::StolenVehicle | Category::StolenPlate | Category::Bolo => 3,
            Category::SexOffender => 4,
            Category::AgencyDefined => 5,
        }
    }

    pub(crate) fn to_code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Category {
        Category::ALL.get(usize::from(code)).copied().unwrap_or(Category::AgencyDefined)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The highest (most urgent) priority.
pub const PRIORITY_HIGHEST: u8 = 1;
/// The lowest priority.
pub const PRIORITY_LOWEST: u8 = 9;

/// The vehicle as the list describes it; any part may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vehicle {
    /// Model year.
    pub year: Option<u16>,
    /// Make (NCIC VMA code or plain text).
    pub make: String,
    /// Model.
    pub model: String,
    /// Colour.
    pub colour: String,
}

impl Vehicle {
    /// "2019 Toyota Camry white", leaving out what the list does not say; empty when it
    /// says nothing.
    pub fn describe(&self) -> String {
        [
            self.year.map(|y| y.to_string()).unwrap_or_default(),
            self.make.clone(),
            self.model.clone(),
            self.colour.clone(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// One hot-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotlistEntry {
    /// The plate, normalized to `A-Z0-9`; a wildcard entry may also hold `?` (one character)
    /// and `*` (any run of characters).
    pub plate: String,
    /// Issuing state or province (two letters), when the list says.
    pub state: Option<String>,
    /// The list it belongs to (`svs`, `ncic`, `bolo`, an agency list name...).
    pub list: String,
    /// Why the plate is wanted.
    pub category: Category,
    /// 1 (most urgent) to 9.
    pub priority: u8,
    /// The vehicle description.
    pub vehicle: Vehicle,
    /// The NCIC number or the list's own record number.
    pub record_number: String,
    /// Free text: why the entry exists, what to do.
    pub reason: String,
    /// When the entry was made (for stolen vehicles: the date of loss).
    pub entry_date: Option<NaiveDate>,
    /// After this instant the entry no longer matches.
    pub expires: Option<DateTime<Utc>>,
    /// A covert entry: the hit is shown without the officer being told the list's reason text
    /// on the public screen (the UI decides how).
    pub covert: bool,
    /// The file or source the entry came from.
    pub source: String,
    /// The version of the list the entry came from.
    pub version: String,
}

impl HotlistEntry {
    /// What the entry says, apart from where and when it was loaded: two loads of an unchanged
    /// entry give the same text, a changed priority, reason or vehicle a different one (the
    /// console alarms again at once on a changed entry, not on a reloaded one).
    pub fn fingerprint(&self) -> String {
        serde_json::json!([
            self.plate,
            self.state,
            self.list,
            self.category.as_str(),
            self.priority,
            self.record_number,
            self.reason,
            self.vehicle.describe(),
            self.covert
        ])
        .to_string()
    }

    /// A new entry with the category's default priority and nothing else known.
    pub fn new(plate: &str, category: Category, list: &str) -> Self {
        Self {
            plate: plate.to_owned(),
            state: None,
            list: list.to_owned(),
            category,
            priority: category.default_priority(),
            vehicle: Vehicle::default(),
            record_number: String::new(),
            reason: String::new(),
            entry_date: None,
            expires: None,
            covert: false,
            source: String::new(),
            version: String::new(),
        }
    }

    /// True when the plate is a pattern (`?` or `*`).
    pub fn is_wildcard(&self) -> bool {
        is_pattern(&self.plate)
    }

    /// True when the entry has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|expires| expires <= now)
    }
}

/// True when the text holds a wildcard character.
pub fn is_pattern(text: &str) -> bool {
    text.bytes().any(|b| b == b'?' || b == b'*')
}

/// The longest plate any list holds: California and NCIC plates have at most 8 characters.
pub const MAX_PLATE_LEN: usize = 8;

/// The fewest literal (non-wildcard) characters a pattern must have, so that a pattern such as
/// `*` or `A*` cannot turn every read into a hit.
pub const MIN_PATTERN_LITERALS: usize = 3;

/// Why a plate field cannot become an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlateError {
    /// Nothing left after normalization.
    #[error("empty plate")]
    Empty,
    /// Longer than [`MAX_PLATE_LEN`].
    #[error("plate {0:?} is longer than 8 characters")]
    TooLong(String),
    /// A pattern with too few literal characters.
    #[error("pattern {0:?} is too broad: it needs at least 3 letters or digits")]
    TooBroad(String),
    /// Wildcards where the format allows none.
    #[error("plate {0:?} holds wildcard characters, which this format does not allow")]
    WildcardNotAllowed(String),
}

/// Normalizes a plate field from a list with [`crate::plate::normalize`]; with `allow_pattern`,
/// `?` and `*` are kept (a run of `*` becomes one) for partial-plate entries.
pub fn normalize_list_plate(text: &str, allow_pattern: bool) -> Result<String, PlateError> {
    let plate = if allow_pattern {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '*' if out.ends_with('*') => {}
                '?' | '*' => out.push(c),
                c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_uppercase()),
                _ => {}
            }
        }
        out
    } else {
        if is_pattern(text) {
            return Err(PlateError::WildcardNotAllowed(text.trim().to_owned()));
        }
        crate::plate::normalize(text)
    };
    if plate.is_empty() {
        return Err(PlateError::Empty);
    }
    if is_pattern(&plate) {
        let literals = plate.bytes().filter(u8::is_ascii_alphanumeric).count();
        if literals < MIN_PATTERN_LITERALS {
            return Err(PlateError::TooBroad(plate));
        }
        // A pattern's fixed part (everything but `*`) still has to fit on a plate.
        if plate.bytes().filter(|&b| b != b'*').count() > MAX_PLATE_LEN {
            return Err(PlateError::TooLong(plate));
        }
    } else if plate.len() > MAX_PLATE_LEN {
        return Err(PlateError::TooLong(plate));
    }
    Ok(plate)
}

/// Issuing jurisdictions a list may name: US states, DC and territories, US government and
/// Canadian provinces and territories, and Mexico.
const JURISDICTIONS: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI", "US",
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT", "MX",
];

/// [`JURISDICTIONS`] as a 26x26 table, for a check without a search.
const JURISDICTION_TABLE: [bool; 676] = {
    let mut table = [false; 676];
    let mut i = 0;
    while i < JURISDICTIONS.len() {
        let code = JURISDICTIONS[i].as_bytes();
        table[(code[0] - b'A') as usize * 26 + (code[1] - b'A') as usize] = true;
        i += 1;
    }
    table
};

/// True when `text` is exactly a known code, upper case (no allocation, no search).
pub fn is_state_code(text: &str) -> bool {
    match text.as_bytes() {
        &[a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => {
            JURISDICTION_TABLE[usize::from(a - b'A') * 26 + usize::from(b - b'A')]
        }
        _ => false,
    }
}

/// Checks and uppercases a two-letter state or province code.
pub fn parse_state(text: &str) -> Option<String> {
    let code = text.trim().to_ascii_uppercase();
    JURISDICTIONS.contains(&code.as_str()).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_plate(input: &str, pattern: bool, expected: Result<&str, PlateError>) {
        assert_eq!(
            normalize_list_plate(input, pattern),
            expected.map(str::to_owned),
            "normalize_list_plate({input:?})"
        );
    }

    #[test]
    fn list_plate_normalization() {
        check_plate("7abc123", false, Ok("7ABC123"));
        check_plate(" 7-ABC 123 ", false, Ok("7ABC123"));
        check_plate("ABCDEFGH", false, Ok("ABCDEFGH"));
        check_plate("ABCDEFGHI", false, Err(PlateError::TooLong("ABCDEFGHI".into())));
        check_plate("--", false, Err(PlateError::Empty));
        check_plate("7AB?123", false, Err(PlateError::WildcardNotAllowed("7AB?123".into())));
        check_plate("7ab?123", true, Ok("7AB?123"));
        check_plate("7ab**", true, Ok("7AB*"));
        check_plate("*12*", true, Err(PlateError::TooBroad("*12*".into())));
        check_plate("A?C*", true, Err(PlateError::TooBroad("A?C*".into())));
        check_plate("ABC*DEFGHI", true, Err(PlateError::TooLong("ABC*DEFGHI".into())));
        check_plate("*ABC*", true, Ok("*ABC*"));
    }

    #[test]
    fn states() {
        assert_eq!(parse_state("ca"), Some("CA".into()));
        assert_eq!(parse_state(" NV "), Some("NV".into()));
        assert_eq!(parse_state("BC"), Some("BC".into()));
        assert_eq!(parse_state("ZZ"), None);
        assert_eq!(parse_state(""), None);
        assert_eq!(parse_state("CAL"), None);
        assert!(is_state_code("CA") && !is_state_code("ca") && !is_state_code("ZZ"));
    }

    #[test]
    fn categories_round_trip_and_short_forms() {
        for category in Category::ALL {
            assert_eq!(Category::parse(category.as_str()), Some(category));
            assert_eq!(Category::from_code(category.to_code()), category);
        }
        assert_eq!(Category::parse("Stolen Vehicle"), Some(Category::StolenVehicle));
        assert_eq!(Category::parse("AMBER"), Some(Category::AmberAlert));
        assert_eq!(Category::parse("stolen-plate"), Some(Category::StolenPlate));
        assert_eq!(Category::parse("parking"), None);
    }

    #[test]
    fn expiry() {
        let now = Utc::now();
        let mut entry = HotlistEntry::new("ABC123", Category::Bolo, "bolo");
        assert!(!entry.is_expired(now));
        entry.expires = Some(now);
        assert!(entry.is_expired(now));
        entry.expires = Some(now + chrono::Duration::seconds(1));
        assert!(!entry.is_expired(now));
    }
}
