//! Characters a vendor's text may not carry, decided once (DESIGN.md §3, "Hostile and
//! oversized input").
//!
//! A value containing NUL or another control character other than tab, LF and CR is
//! `INVALID_CHARACTER`. PostgreSQL refuses NUL in any text and `\u0000` in JSONB, so
//! nothing that goes to PostgreSQL (or into the vendor's report, which is rendered from
//! it) may carry one: [`for_storage`] is the one function that makes a string safe for
//! that, applied where the rows for PostgreSQL are built. DynamoDB keeps the raw cells.

use std::borrow::Cow;

/// What a forbidden character is replaced with in stored and reported text.
pub const REPLACEMENT: char = '\u{FFFD}';

/// NUL and every other control character (Unicode `Cc`: U+0000–U+001F, U+007F–U+009F)
/// except tab, LF and CR, which CSV cells legitimately carry.
pub fn is_forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The first forbidden character of `value`, with its 1-based character position.
pub fn first_forbidden(value: &str) -> Option<(usize, char)> {
    value
        .chars()
        .enumerate()
        .find(|(_, c)| is_forbidden(*c))
        .map(|(i, c)| (i + 1, c))
}

/// `value` as PostgreSQL and the report get it: every forbidden character replaced by
/// U+FFFD, everything else as given. Borrowed when there is nothing to replace.
pub fn for_storage(value: &str) -> Cow<'_, str> {
    if !value.chars().any(is_forbidden) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(
        value
            .chars()
            .map(|c| if is_forbidden(c) { REPLACEMENT } else { c })
            .collect(),
    )
}

/// The first `max_chars` characters of `value`, with `…` appended when it was longer.
pub fn cut(value: &str, max_chars: usize) -> Cow<'_, str> {
    match value.char_indices().nth(max_chars) {
        None => Cow::Borrowed(value),
        Some((end, _)) => Cow::Owned(format!("{}…", &value[..end])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_lf_and_cr_are_allowed_every_other_control_character_is_not() {
        for c in ['\t', '\n', '\r', ' ', 'a', 'é', '\u{FFFD}', '\u{200B}'] {
            assert!(!is_forbidden(c), "{c:?}");
        }
        for c in [
            '\0', '\u{1}', '\u{8}', '\u{B}', '\u{C}', '\u{1B}', '\u{1F}', '\u{7F}', '\u{85}', '\u{9F}',
        ] {
            assert!(is_forbidden(c), "{c:?}");
        }
    }

    #[test]
    fn the_first_forbidden_character_is_found_by_character_position() {
        assert_eq!(first_forbidden("é\u{0}x\u{1}"), Some((2, '\0')));
        assert_eq!(first_forbidden("a\tb\r\nc"), None);
    }

    #[test]
    fn storage_replaces_forbidden_characters_only() {
        assert_eq!(for_storage("Mou\u{0}se\t\u{7F}"), "Mou\u{FFFD}se\t\u{FFFD}");
        assert!(matches!(for_storage("plain\r\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn cut_counts_characters_and_marks_the_cut() {
        assert_eq!(cut("日本語", 2), "日本…");
        assert_eq!(cut("日本", 2), "日本");
        assert_eq!(cut("", 0), "");
    }
}
