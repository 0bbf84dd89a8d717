//! One type per kind of value, each with one constructor that returns the value or the
//! problem with it. Code past these constructors never re-checks.
//!
//! Decisions where DESIGN.md leaves room (documented once, here):
//! - Decimals (price, compare_at_price, weight_kg) are plain notation only: ASCII digits,
//!   optionally `.` followed by at least one digit (`12`, `12.5`, `12.50`, `0.99`).
//!   Rejected: a leading `+`, `.5`, `5.`, exponents, thousands separators, currency
//!   symbols, white space inside, `NaN`, `inf`. A leading `-` is read, so that `-5` is
//!   reported as out of bounds rather than as not a number.
//! - "At most 2 decimals" counts the digits written: `12.500` has 3 and is rejected,
//!   because the vendor's sheet evidently holds more precision than the catalog keeps.
//! - weight_kg follows the price's rules (NUMERIC(10,2) in the catalog): more than 2
//!   decimals is `INVALID_NUMBER`.
//! - Stock is ASCII digits with an optional `-` (reported as out of range); a leading
//!   `+` and anything with a `.` (`10.0`) are not whole numbers. Leading zeros are fine.
//! - Lengths count characters (Unicode scalar values) of the trimmed value, as
//!   PostgreSQL's `VARCHAR(n)` does, not bytes.

use super::messages::{about_value, too_long_detail};
use crate::codes::ErrorCode;
use crate::model::RowError;
use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;

/// What is wrong with one value; becomes a [`RowError`] once the column is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub code: ErrorCode,
    /// The end of the sentence, after `{column} "{value}" `.
    pub detail: String,
}

impl FieldIssue {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        FieldIssue {
            code,
            detail: detail.into(),
        }
    }

    pub fn into_row_error(self, column: &str, value: &str) -> RowError {
        RowError::new(self.code, column, about_value(column, value, &self.detail))
    }
}

/// `FIELD_TOO_LONG` when `value` has more than `limit` characters.
pub fn check_length(value: &str, limit: usize) -> Result<(), FieldIssue> {
    let chars = value.chars().count();
    if chars > limit {
        Err(FieldIssue::new(
            ErrorCode::FieldTooLong,
            too_long_detail(chars, limit),
        ))
    } else {
        Ok(())
    }
}

/// A text value within its length limit.
pub fn bounded_text(value: &str, limit: usize) -> Result<String, FieldIssue> {
    check_length(value, limit).map(|()| value.to_string())
}

/// A stock keeping unit: 1–100 characters of `A–Z a–z 0–9 - _ .`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sku(String);

impl Sku {
    pub const MAX_CHARS: usize = 100;

    /// `value` is the trimmed cell. Too long wins over bad characters.
    pub fn parse(value: &str) -> Result<Sku, FieldIssue> {
        if value.is_empty() {
            return Err(FieldIssue::new(ErrorCode::InvalidSku, "is empty."));
        }
        check_length(value, Self::MAX_CHARS)?;
        let mut found: Vec<char> = Vec::new();
        for c in value.chars() {
            let allowed = c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
            if !allowed && !found.contains(&c) {
                found.push(c);
            }
        }
        if found.is_empty() {
            return Ok(Sku(value.to_string()));
        }
        let listed: Vec<String> = found
            .iter()
            .take(5)
            .map(|c| format!("'{}'", c.escape_default()))
            .collect();
        Err(FieldIssue::new(
            ErrorCode::InvalidSku,
            format!(
                "may only contain letters, digits, '-', '_' and '.' (found {}).",
                listed.join(", ")
            ),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a bounded decimal was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecimalIssue {
    NotADecimal,
    /// Zero or negative.
    NotPositive,
    TooLarge,
    /// More than 2 decimals; carries the value rounded to 2 (half away from zero) as an
    /// example, when that is still positive.
    TooManyDecimals(Option<Decimal>),
}

impl DecimalIssue {
    fn detail(&self) -> String {
        match self {
            DecimalIssue::NotADecimal => "is not a plain decimal number; write digits with an \
                optional '.' and at most 2 decimals, without currency symbols, thousands \
                separators, signs or exponents, e.g. 12.50."
                .to_string(),
            DecimalIssue::NotPositive => "must be greater than 0.".to_string(),
            DecimalIssue::TooLarge => format!("exceeds the maximum of {}.", Price::MAX_TEXT),
            DecimalIssue::TooManyDecimals(Some(example)) => {
                format!("has more than 2 decimal places; use at most 2, e.g. {example}.")
            }
            DecimalIssue::TooManyDecimals(None) => {
                "has more than 2 decimal places; use at most 2.".to_string()
            }
        }
    }

    fn into_issue(self, code: ErrorCode) -> FieldIssue {
        FieldIssue::new(code, self.detail())
    }
}

/// A decimal > 0 and ≤ 999999.99 with at most 2 decimals, returned at scale 2.
/// `value` is the trimmed cell. Checks in order: notation, bounds, decimals.
pub fn parse_bounded_decimal(value: &str) -> Result<Decimal, DecimalIssue> {
    let (negative, unsigned) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
        return Err(DecimalIssue::NotADecimal);
    }
    let frac = frac_part.unwrap_or("");
    let significant = int_part.trim_start_matches('0');
    let is_zero = significant.is_empty() && frac.bytes().all(|b| b == b'0');
    if is_zero || negative {
        return Err(DecimalIssue::NotPositive);
    }
    let beyond_cents_nonzero = frac.get(2..).is_some_and(|r| r.bytes().any(|b| b != b'0'));
    if significant.len() > 6 || (significant == "999999" && frac.starts_with("99") && beyond_cents_nonzero) {
        return Err(DecimalIssue::TooLarge);
    }
    let int_digits = if significant.is_empty() { "0" } else { significant };
    if frac.len() > 2 {
        // Rounding half away from zero to 2 places depends on the third decimal only.
        let example = frac
            .get(..3)
            .and_then(|f3| Decimal::from_str_exact(&format!("{int_digits}.{f3}")).ok())
            .map(|d| d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
            .filter(|d| *d > Decimal::ZERO && *d <= Price::MAX);
        return Err(DecimalIssue::TooManyDecimals(example));
    }
    let text = if frac.is_empty() {
        int_digits.to_string()
    } else {
        format!("{int_digits}.{frac}")
    };
    let mut decimal = Decimal::from_str_exact(&text).map_err(|_| DecimalIssue::NotADecimal)?;
    decimal.rescale(2);
    Ok(decimal)
}

/// Money: > 0, ≤ 999999.99, exactly 2 decimals (`NUMERIC(10,2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Price(Decimal);

impl Price {
    pub const MAX: Decimal = Decimal::from_parts(99_999_999, 0, 0, false, 2);
    const MAX_TEXT: &'static str = "999999.99";

    /// `value` is the trimmed cell; problems are `INVALID_PRICE`.
    pub fn parse(value: &str) -> Result<Price, FieldIssue> {
        parse_bounded_decimal(value)
            .map(Price)
            .map_err(|issue| issue.into_issue(ErrorCode::InvalidPrice))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// weight_kg: the price's bounds and precision; problems are `INVALID_NUMBER`.
pub fn parse_weight(value: &str) -> Result<Decimal, FieldIssue> {
    parse_bounded_decimal(value).map_err(|issue| issue.into_issue(ErrorCode::InvalidNumber))
}

pub const MAX_STOCK: i32 = 1_000_000;

/// stock_quantity: a whole number from 0 to 1000000.
pub fn parse_stock(value: &str) -> Result<i32, FieldIssue> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldIssue::new(
            ErrorCode::InvalidStock,
            "is not a whole number; use digits only, e.g. 25.",
        ));
    }
    let significant = digits.trim_start_matches('0');
    let out_of_range = || {
        FieldIssue::new(
            ErrorCode::InvalidStock,
            format!("is out of range; use a whole number from 0 to {MAX_STOCK}."),
        )
    };
    if significant.is_empty() {
        return Ok(0);
    }
    if negative || significant.len() > 7 {
        return Err(out_of_range());
    }
    match significant.parse::<i32>() {
        Ok(n) if n <= MAX_STOCK => Ok(n),
        _ => Err(out_of_range()),
    }
}

pub const MAX_URL_CHARS: usize = 500;

/// image_url: an absolute `http` or `https` URL with a host, ≤ 500 characters. The
/// trimmed value is kept as given (not re-serialised by the URL parser).
pub fn parse_image_url(value: &str) -> Result<String, FieldIssue> {
    check_length(value, MAX_URL_CHARS)?;
    let ok = match url::Url::parse(value) {
        Ok(u) => matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()),
        Err(_) => false,
    };
    if ok {
        Ok(value.to_string())
    } else {
        Err(FieldIssue::new(
            ErrorCode::InvalidUrl,
            "is not an absolute http(s) URL; use a full link starting with http:// or \
             https://, e.g. https://example.com/images/product.jpg.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn a_sku_shows_as_the_value_it_was_parsed_from() {
        let sku = Sku::parse("AB-1.x_2").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(sku.to_string(), "AB-1.x_2");
        assert_eq!(sku.as_str(), "AB-1.x_2");
    }

    #[test]
    fn bounded_decimals() {
        use DecimalIssue::*;
        let cases: &[(&str, Result<&str, DecimalIssue>)] = &[
            ("12", Ok("12.00")),
            ("12.5", Ok("12.50")),
            ("12.50", Ok("12.50")),
            ("0.99", Ok("0.99")),
            ("0.01", Ok("0.01")),
            ("007.10", Ok("7.10")),
            ("999999.99", Ok("999999.99")),
            ("999999.990", Err(TooManyDecimals(Some(dec("999999.99"))))),
            ("1000000.00", Err(TooLarge)),
            ("1000000", Err(TooLarge)),
            ("999999.991", Err(TooLarge)),
            ("99999999999999999999999999999999999", Err(TooLarge)),
            ("0", Err(NotPositive)),
            ("0.00", Err(NotPositive)),
            ("-0", Err(NotPositive)),
            ("-5", Err(NotPositive)),
            ("-5.123", Err(NotPositive)),
            ("12.345", Err(TooManyDecimals(Some(dec("12.35"))))),
            ("12.344", Err(TooManyDecimals(Some(dec("12.34"))))),
            ("12.500", Err(TooManyDecimals(Some(dec("12.50"))))),
            ("0.001", Err(TooManyDecimals(None))),
            ("+5", Err(NotADecimal)),
            (".5", Err(NotADecimal)),
            ("5.", Err(NotADecimal)),
            ("1e3", Err(NotADecimal)),
            ("1,000.00", Err(NotADecimal)),
            ("1 000", Err(NotADecimal)),
            ("$12", Err(NotADecimal)),
            ("12€", Err(NotADecimal)),
            ("NaN", Err(NotADecimal)),
            ("inf", Err(NotADecimal)),
            ("-", Err(NotADecimal)),
            ("1.2.3", Err(NotADecimal)),
            ("١٢", Err(NotADecimal)),
        ];
        for (input, expected) in cases {
            let got = parse_bounded_decimal(input);
            match expected {
                Ok(text) => {
                    let d = got.as_ref().map(|d| d.to_string());
                    assert_eq!(d.as_deref(), Ok(*text), "input {input:?}");
                    assert_eq!(got.map(|d| d.scale()), Ok(2), "scale of {input:?}");
                }
                Err(issue) => assert_eq!(got.as_ref().err(), Some(issue), "input {input:?}"),
            }
        }
    }

    #[test]
    fn stock_values() {
        let cases: &[(&str, Option<i32>)] = &[
            ("0", Some(0)),
            ("000", Some(0)),
            ("-0", Some(0)),
            ("25", Some(25)),
            ("0025", Some(25)),
            ("1000000", Some(1_000_000)),
            ("1000001", None),
            ("99999999999999999999", None),
            ("-1", None),
            ("+5", None),
            ("10.0", None),
            ("1e3", None),
            ("1,000", None),
            ("ten", None),
            ("-", None),
        ];
        for (input, expected) in cases {
            let got = parse_stock(input);
            assert_eq!(got.as_ref().ok(), expected.as_ref(), "input {input:?}");
            if let Err(issue) = got {
                assert_eq!(issue.code, ErrorCode::InvalidStock);
            }
        }
    }

    #[test]
    fn skus() {
        assert_eq!(
            Sku::parse("AB-12_x.9").map(|s| s.into_string()),
            Ok("AB-12_x.9".into())
        );
        let bad = Sku::parse("AB 12#").err();
        assert_eq!(bad.as_ref().map(|i| i.code), Some(ErrorCode::InvalidSku));
        assert_eq!(
            bad.map(|i| i.detail),
            Some("may only contain letters, digits, '-', '_' and '.' (found ' ', '#').".into())
        );
        assert_eq!(
            Sku::parse("ÄB").err().map(|i| i.code),
            Some(ErrorCode::InvalidSku)
        );
        assert!(Sku::parse(&"A".repeat(100)).is_ok());
        assert_eq!(
            Sku::parse(&"A ".repeat(51)).err().map(|i| i.code),
            Some(ErrorCode::FieldTooLong)
        );
    }

    #[test]
    fn urls() {
        let cases: &[(&str, Option<ErrorCode>)] = &[
            ("https://example.com/a.jpg", None),
            ("http://example.com", None),
            ("HTTPS://EXAMPLE.COM/X.PNG", None),
            ("ftp://example.com/a.jpg", Some(ErrorCode::InvalidUrl)),
            ("/images/a.jpg", Some(ErrorCode::InvalidUrl)),
            ("images/a.jpg", Some(ErrorCode::InvalidUrl)),
            ("example.com/a.jpg", Some(ErrorCode::InvalidUrl)),
            ("javascript:alert(1)", Some(ErrorCode::InvalidUrl)),
            ("data:image/png;base64,AAAA", Some(ErrorCode::InvalidUrl)),
            ("mailto:a@example.com", Some(ErrorCode::InvalidUrl)),
            ("https://", Some(ErrorCode::InvalidUrl)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_image_url(input).err().map(|i| i.code), *expected, "{input}");
        }
        let long = format!("https://example.com/{}", "a".repeat(481));
        assert_eq!(long.chars().count(), 501);
        assert_eq!(
            parse_image_url(&long).err().map(|i| i.code),
            Some(ErrorCode::FieldTooLong)
        );
        assert!(parse_image_url(&long[..500]).is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let hundred_multibyte = "日".repeat(100);
        assert_eq!(hundred_multibyte.len(), 300);
        assert!(check_length(&hundred_multibyte, 100).is_ok());
        let issue = check_length(&"日".repeat(101), 100).err();
        assert_eq!(
            issue.map(|i| i.detail),
            Some("is 101 characters long; the limit is 100.".into())
        );
    }

    #[test]
    fn price_max_constant_is_999999_99() {
        assert_eq!(Price::MAX.to_string(), "999999.99");
    }
}
