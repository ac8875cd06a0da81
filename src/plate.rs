//! Plate text: the one normalization every module (recognizer, hot lists, storage) agrees on.
//!
//! Part of the policy core: no GUI, camera or audio dependency.

/// Normalizes plate text to what the system compares: uppercase `A-Z0-9`, nothing else.
///
/// Spaces, dashes, dots and any other symbol on a plate (hearts, stars, state emblems) are
/// dropped, because a plate's identity in every California and NCIC system is its characters
/// alone.
pub fn normalize(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// True when `text` is already normalized and of a length a real plate can have (1-8).
pub fn is_normalized_plate(text: &str) -> bool {
    (1..=8).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(normalize(input), expected, "normalize({input:?})");
    }

    #[test]
    fn normalization() {
        check("7abc123", "7ABC123");
        check("7-ABC 123", "7ABC123");
        check(" ab.c\t1 ", "ABC1");
        check("4♥U", "4U");
        check("Ünï", "N");
        check("", "");
    }

    #[test]
    fn plate_shape() {
        assert!(is_normalized_plate("7ABC123"));
        assert!(is_normalized_plate("A"));
        assert!(!is_normalized_plate(""));
        assert!(!is_normalized_plate("ABCDEFGHI"));
        assert!(!is_normalized_plate("abc"));
        assert!(!is_normalized_plate("AB-1"));
    }
}
