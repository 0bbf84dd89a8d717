//! A row's cells as the parser reads them: one string holding every cell, where each
//! cell ends, and the file's header names, shared by every row of the file.
//!
//! The parser makes one of these per row with one allocation (the text; the ends are
//! inline for up to 16 columns), where a [`ProductData`] map takes one per name and one
//! per value: `make bench` §1 measures the difference. Everything downstream of the
//! table's stream still reads a [`ProductData`]; [`Cells::to_product_data`] gives the
//! same map.

use super::ProductData;
use serde::ser::{Serialize, SerializeMap, Serializer};
use smallvec::SmallVec;
use std::sync::Arc;

/// The header's normalised names in file order (blank ones included, so a column's
/// index is its field's), shared by every row of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    names: Vec<String>,
    /// How many names are not blank, and their bytes: what every row's item repeats.
    named: usize,
    named_bytes: usize,
}

impl Columns {
    pub fn new(names: Vec<String>) -> Arc<Columns> {
        let named = names.iter().filter(|n| !n.is_empty()).count();
        let named_bytes = names.iter().map(String::len).sum();
        Arc::new(Columns {
            names,
            named,
            named_bytes,
        })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The index of a non-blank name (the first, though a header never repeats one:
    /// `Header::new` refuses it).
    fn position(&self, name: &str) -> Option<usize> {
        if name.is_empty() {
            return None;
        }
        self.names.iter().position(|n| n == name)
    }
}

/// A row's cells keyed by its file's header: what [`ProductData`] holds, in one string.
/// A cell under a blank name is kept in the text but is not a cell of the row (as
/// [`ProductData`] leaves it out). Equality is by content: the same names with the same
/// values, whatever the order or sharing.
#[derive(Debug, Clone)]
pub struct Cells {
    columns: Arc<Columns>,
    text: Box<str>,
    /// Where each field ends in `text`, one per column ([`Cells::none`]: none). Inline
    /// for up to 16 columns, so a usual row's cells take one allocation, the text.
    ends: SmallVec<[u32; 16]>,
}

impl Cells {
    /// No cells (a row whose fields cannot be matched to columns, or nothing was read).
    pub fn none() -> Cells {
        Cells {
            columns: Arc::default(),
            text: Box::default(),
            ends: SmallVec::new(),
        }
    }

    /// Fields laid end to end in `text`, `ends[i]` the end of field `i`: `None` unless
    /// there is one field per column, each end is a character boundary, in order, and
    /// the last is the end of `text`.
    pub fn from_fields(columns: &Arc<Columns>, text: &str, ends: &[usize]) -> Option<Cells> {
        if ends.len() != columns.names.len() {
            return None;
        }
        let mut from = 0;
        for &end in ends {
            if end < from || !text.is_char_boundary(end) {
                return None;
            }
            from = end;
        }
        // Checked first, then packed in one pass: pushing as it checked cost a capacity
        // check per field.
        if from != text.len() || u32::try_from(from).is_err() {
            return None;
        }
        Some(Cells {
            columns: Arc::clone(columns),
            text: text.into(),
            ends: packed(ends),
        })
    }

    /// The value under `name` (a normalised header name), as [`ProductData::get`].
    pub fn get(&self, name: &str) -> Option<&str> {
        if self.ends.is_empty() {
            return None;
        }
        self.field(self.columns.position(name)?)
    }

    fn field(&self, i: usize) -> Option<&str> {
        let to = *self.ends.get(i)? as usize;
        let from = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(from..to)
    }

    /// (name, value) in column order, blank names left out.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let names = if self.ends.is_empty() {
            &[][..]
        } else {
            &self.columns.names[..]
        };
        names
            .iter()
            .enumerate()
            .filter(|(_, name)| !name.is_empty())
            .filter_map(|(i, name)| Some((name.as_str(), self.field(i)?)))
    }

    /// How many named cells the row has.
    pub fn len(&self) -> usize {
        if self.ends.is_empty() {
            0
        } else {
            self.columns.named
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of the named cells' names and of their values, without walking the
    /// cells when no name is blank (the usual header).
    pub fn named_bytes(&self) -> (usize, usize) {
        if self.is_empty() {
            return (0, 0);
        }
        let values = if self.columns.named == self.columns.names.len() {
            self.text.len()
        } else {
            self.iter().map(|(_, value)| value.len()).sum()
        };
        (self.columns.named_bytes, values)
    }

    /// The same cells as a map, as the table's stream gives them to the validator.
    pub fn to_product_data(&self) -> ProductData {
        self.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }
}

/// `ends` as `u32`s (the caller checked that they fit), inline for up to 16: filled
/// in place, where collecting them checked the capacity at each one.
fn packed(ends: &[usize]) -> SmallVec<[u32; 16]> {
    let mut inline = [0u32; 16];
    if ends.len() > inline.len() {
        return ends.iter().map(|&end| end as u32).collect();
    }
    for (slot, &end) in inline.iter_mut().zip(ends) {
        *slot = end as u32;
    }
    SmallVec::from_buf_and_len(inline, ends.len())
}

/// A row's cells read by column name: a [`ProductData`] map, or a parsed row's [`Cells`].
pub trait CellsByName {
    fn cell(&self, name: &str) -> Option<&str>;
}

impl CellsByName for ProductData {
    fn cell(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl CellsByName for Cells {
    fn cell(&self, name: &str) -> Option<&str> {
        self.get(name)
    }
}

impl PartialEq for Cells {
    fn eq(&self, other: &Cells) -> bool {
        self.len() == other.len() && self.iter().all(|(name, value)| other.get(name) == Some(value))
    }
}

impl Eq for Cells {}

/// Cells from a map, in its (sorted) order: for tests and for rows built by hand. A map
/// cannot hold a cell under a blank name; an entry with an empty name is not a cell.
impl From<ProductData> for Cells {
    fn from(data: ProductData) -> Cells {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(data.len());
        let mut names = Vec::with_capacity(data.len());
        for (name, value) in data {
            text.push_str(&value);
            ends.push(text.len());
            names.push(name);
        }
        Cells::from_fields(&Columns::new(names), &text, &ends).unwrap_or_else(Cells::none)
    }
}

/// Written as the map [`ProductData`] is written.
impl Serialize for Cells {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> Arc<Columns> {
        Columns::new(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn cells_are_read_by_name_and_blank_names_are_left_out() {
        let cols = columns(&["sku", "", "price"]);
        let cells = Cells::from_fields(&cols, "A-1ignored9.99", &[3, 10, 14]).expect("cells");
        assert_eq!(cells.get("sku"), Some("A-1"));
        assert_eq!(cells.get("price"), Some("9.99"));
        assert_eq!(cells.get(""), None);
        assert_eq!(cells.get("brand"), None);
        assert_eq!(cells.len(), 2);
        assert_eq!(
            cells.iter().collect::<Vec<_>>(),
            [("sku", "A-1"), ("price", "9.99")]
        );
        let data = cells.to_product_data();
        assert_eq!(data.len(), 2);
        assert_eq!(data.get("sku").map(String::as_str), Some("A-1"));
        assert_eq!(Cells::from(data), cells);
    }

    #[test]
    fn fields_that_do_not_match_the_columns_are_refused() {
        let cols = columns(&["a", "b"]);
        assert!(Cells::from_fields(&cols, "xy", &[1]).is_none(), "one field short");
        assert!(
            Cells::from_fields(&cols, "xy", &[1, 1]).is_none(),
            "text left over"
        );
        assert!(
            Cells::from_fields(&cols, "xy", &[2, 1]).is_none(),
            "ends out of order"
        );
        // 'é' is two bytes: an end inside it is not a character boundary.
        assert!(
            Cells::from_fields(&cols, "éz", &[1, 3]).is_none(),
            "split character"
        );
        let cells = Cells::from_fields(&cols, "éz", &[2, 3]).expect("cells");
        assert_eq!(cells.get("a"), Some("é"));
        assert_eq!(cells.get("b"), Some("z"));
    }

    #[test]
    fn empty_cells_compare_equal_and_serialise_as_an_empty_map() {
        let none = Cells::none();
        assert!(none.is_empty());
        assert_eq!(none, Cells::from(ProductData::new()));
        let blanks = Cells::from_fields(&columns(&["", ""]), "ab", &[1, 2]).expect("cells");
        assert!(blanks.is_empty(), "cells under blank names are not the row's");
        assert_eq!(blanks, none);
        assert_eq!(serde_json::to_string(&none).ok().as_deref(), Some("{}"));
    }

    #[test]
    fn serialised_like_the_map_they_stand_for() {
        let cols = columns(&["sku", "name", ""]);
        let cells = Cells::from_fields(&cols, "S-1Mouse, \"big\"x", &[3, 15, 16]).expect("cells");
        assert_eq!(
            serde_json::to_value(&cells).expect("serialises"),
            serde_json::to_value(cells.to_product_data()).expect("serialises")
        );
        assert_ne!(
            cells,
            Cells::from_fields(&cols, "S-1Mousex", &[3, 8, 9]).expect("cells")
        );
    }
}
