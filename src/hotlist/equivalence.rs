//! OCR-equivalent characters: the classes of characters a plate reader confuses (0/O/D/Q...)
//! and the packed plate keys the index compares.
//!
//! Part of the policy core. A plate of up to 8 characters is packed into a `u64` (one byte per
//! character, zero padded), so comparing and hashing plates never touches the heap. Mapping
//! every character to its class representative gives the plate's *canonical* key: two plates
//! that differ only by equivalent characters share it, which is how the index finds
//! approximate matches with a single hash lookup.

use serde::{Deserialize, Serialize};

/// The default classes: the confusions field reports name (0/O/D/Q, 1/I, 2/Z, 5/S, 8/B, 6/G).
pub const DEFAULT_CLASSES: [&str; 6] = ["0ODQ", "1I", "2Z", "5S", "8B", "6G"];

/// A configuration of equivalence classes that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EquivalenceError {
    /// A class holds something other than `A-Z0-9`.
    #[error("equivalence class {0:?} may hold only A-Z and 0-9")]
    BadCharacter(String),
    /// A character appears in two classes; the classes would silently merge.
    #[error("character {0:?} is in more than one equivalence class")]
    Overlap(char),
}

/// Character classes the reader may confuse, as a byte-to-representative table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct EquivalenceClasses {
    classes: Vec<String>,
    #[serde(skip)]
    representative: [u8; 256],
}

impl EquivalenceClasses {
    /// Builds the table from classes such as `["0ODQ", "1I"]`; lower case is accepted.
    pub fn new<S: AsRef<str>>(classes: &[S]) -> Result<Self, EquivalenceError> {
        let mut representative = [0u8; 256];
        for (b, slot) in representative.iter_mut().enumerate() {
            // Every byte is its own representative unless a class says otherwise.
            *slot = b as u8;
        }
        let mut seen = [false; 256];
        let mut normalized = Vec::with_capacity(classes.len());
        for class in classes {
            let class = class.as_ref().to_ascii_uppercase();
            if class.is_empty() || !class.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                return Err(EquivalenceError::BadCharacter(class));
            }
            let first = class.as_bytes()[0];
            for b in class.bytes() {
                if seen[usize::from(b)] {
                    return Err(EquivalenceError::Overlap(char::from(b)));
                }
                seen[usize::from(b)] = true;
                representative[usize::from(b)] = first;
            }
            normalized.push(class);
        }
        Ok(Self { classes: normalized, representative })
    }

    /// No equivalences at all: only exact matches.
    pub fn none() -> Self {
        Self::new::<&str>(&[]).unwrap_or_else(|_| unreachable!("an empty class list is always valid"))
    }

    /// The classes as configured (upper case).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The representative of a character's class (the character itself when in no class).
    #[inline]
    pub fn representative(&self, b: u8) -> u8 {
        self.representative[usize::from(b)]
    }

    /// True when the reader may confuse `a` and `b`.
    pub fn equivalent(&self, a: u8, b: u8) -> bool {
        self.representative(a) == self.representative(b)
    }

    /// The canonical key of a packed plate: each character replaced by its representative.
    #[inline]
    pub fn canonical(&self, key: PlateKey) -> PlateKey {
        let mut bytes = key.0.to_be_bytes();
        for b in &mut bytes {
            *b = self.representative(*b);
        }
        PlateKey(u64::from_be_bytes(bytes))
    }
}

impl Default for EquivalenceClasses {
    fn default() -> Self {
        Self::new(&DEFAULT_CLASSES).unwrap_or_else(|_| unreachable!("the default classes are valid"))
    }
}

impl TryFrom<Vec<String>> for EquivalenceClasses {
    type Error = EquivalenceError;

    fn try_from(classes: Vec<String>) -> Result<Self, Self::Error> {
        Self::new(&classes)
    }
}

impl From<EquivalenceClasses> for Vec<String> {
    fn from(classes: EquivalenceClasses) -> Self {
        classes.classes
    }
}

/// A plate of 1-8 characters `A-Z0-9` packed into a `u64`, first character in the high byte,
/// unused bytes zero. Packing is order-preserving, so sorting keys sorts plates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlateKey(pub u64);

impl PlateKey {
    /// Packs already-normalized plate text; `None` when empty, too long or not `A-Z0-9`.
    pub fn from_normalized(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.is_empty() || bytes.len() > 8 {
            return None;
        }
        let mut packed = [0u8; 8];
        for (slot, &b) in packed.iter_mut().zip(bytes) {
            if !(b.is_ascii_uppercase() || b.is_ascii_digit()) {
                return None;
            }
            *slot = b;
        }
        Some(Self(u64::from_be_bytes(packed)))
    }

    /// Normalizes raw read text while packing it (drops anything but letters and digits,
    /// uppercases), without allocating; `None` when nothing or more than 8 characters remain.
    #[inline]
    pub fn from_raw(text: &str) -> Option<Self> {
        let mut packed = [0u8; 8];
        let mut len = 0;
        for b in text.bytes() {
            if !b.is_ascii_alphanumeric() {
                continue;
            }
            if len == 8 {
                return None;
            }
            packed[len] = b.to_ascii_uppercase();
            len += 1;
        }
        (len > 0).then_some(Self(u64::from_be_bytes(packed)))
    }

    /// The characters.
    pub fn bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// The number of characters.
    pub fn len(self) -> usize {
        8 - (self.0.trailing_zeros() / 8) as usize
    }

    /// True for the (never used) empty key.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The plate text.
    pub fn text(self) -> String {
        self.bytes().iter().take_while(|&&b| b != 0).map(|&b| char::from(b)).collect()
    }

    /// A bit mask of the positions (bit 0 = first character) where two equal-length keys
    /// differ.
    #[inline]
    pub fn diff_mask(self, other: PlateKey) -> u8 {
        let x = self.0 ^ other.0;
        let mut mask = 0u8;
        for i in 0..8 {
            if (x >> (56 - 8 * i)) & 0xff != 0 {
                mask |= 1 << i;
            }
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> PlateKey {
        PlateKey::from_normalized(text).unwrap()
    }

    fn check_equivalent(a: &str, b: &str, expected: bool) {
        let classes = EquivalenceClasses::default();
        assert_eq!(classes.canonical(key(a)) == classes.canonical(key(b)), expected, "{a} ~ {b}");
    }

    #[test]
    fn default_equivalence() {
        check_equivalent("7ABC123", "7ABC123", true);
        check_equivalent("7ABC123", "7ABCI23", true);
        check_equivalent("0OD", "QDO", true);
        check_equivalent("S8G", "5B6", true);
        check_equivalent("Z2", "2Z", true);
        check_equivalent("7ABC123", "7ABC124", false);
        check_equivalent("7ABC123", "2ABC123", false);
        check_equivalent("ABC12", "ABC123", false);
        check_equivalent("3", "8", false);
    }

    #[test]
    fn configured_classes() {
        let classes = EquivalenceClasses::new(&["37", "uv"]).unwrap();
        assert!(classes.equivalent(b'3', b'7'));
        assert!(classes.equivalent(b'U', b'V'));
        assert!(!classes.equivalent(b'0', b'O'));
        assert_eq!(classes.classes(), ["37", "UV"]);
        assert_eq!(EquivalenceClasses::new(&["0O", "OD"]), Err(EquivalenceError::Overlap('O')));
        assert_eq!(EquivalenceClasses::new(&["0-O"]), Err(EquivalenceError::BadCharacter("0-O".into())));
        assert!(!EquivalenceClasses::none().equivalent(b'0', b'O'));
    }

    #[test]
    fn keys() {
        assert_eq!(key("A").len(), 1);
        assert_eq!(key("ABCDEFGH").len(), 8);
        assert_eq!(key("7ABC123").text(), "7ABC123");
        assert_eq!(PlateKey::from_normalized(""), None);
        assert_eq!(PlateKey::from_normalized("abc"), None);
        assert_eq!(PlateKey::from_normalized("ABCDEFGHI"), None);
        assert_eq!(PlateKey::from_raw("7-abc 123"), Some(key("7ABC123")));
        assert_eq!(PlateKey::from_raw("ABCD EFGH I"), None);
        assert_eq!(PlateKey::from_raw(" - "), None);
        assert!(key("ABC") < key("ABD") && key("AB") < key("ABA"));
        assert_eq!(key("7ABC123").diff_mask(key("7ABC123")), 0);
        assert_eq!(key("7ABC123").diff_mask(key("7ABCI23")), 0b0001_0000);
        assert_eq!(key("0BC").diff_mask(key("OB0")), 0b101);
    }

    #[test]
    fn classes_serialize_as_strings() {
        let classes: EquivalenceClasses = serde_json::from_str(r#"["0o","1I"]"#).unwrap();
        assert!(classes.equivalent(b'0', b'O'));
        assert_eq!(serde_json::to_string(&classes).unwrap(), r#"["0O","1I"]"#);
        assert!(serde_json::from_str::<EquivalenceClasses>(r#"["0O","O1"]"#).is_err());
    }
}
