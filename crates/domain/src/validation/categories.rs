//! Matching a row's category against the catalog's active categories.

use std::collections::BTreeMap;

/// The active categories, looked up case-insensitively.
pub trait Categories {
    /// The canonical (stored) name of the active category matching `name` trimmed and
    /// compared case-insensitively, if there is one.
    fn canonical(&self, name: &str) -> Option<String>;

    /// Up to `max` canonical names to suggest in an error message.
    fn examples(&self, max: usize) -> Vec<String>;
}

/// An in-memory set of active category names, as loaded once per batch from
/// `product_categories`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategorySet {
    /// Lower-cased name → canonical name. Ordered so that suggestions are stable.
    by_key: BTreeMap<String, String>,
}

fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl CategorySet {
    /// When two names differ only by case, the first one given is canonical.
    pub fn new<I, S>(canonical_names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut by_key = BTreeMap::new();
        for name in canonical_names {
            let name: String = name.into();
            by_key.entry(key(&name)).or_insert(name);
        }
        CategorySet { by_key }
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

impl Categories for CategorySet {
    fn canonical(&self, name: &str) -> Option<String> {
        self.by_key.get(&key(name)).cloned()
    }

    fn examples(&self, max: usize) -> Vec<String> {
        self.by_key.values().take(max).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_returns_the_canonical_name() {
        let set = CategorySet::new(["Electronics", "Home & Garden", "Men's Clothing"]);
        assert_eq!(set.canonical("electronics").as_deref(), Some("Electronics"));
        assert_eq!(set.canonical(" HOME & garden ").as_deref(), Some("Home & Garden"));
        assert_eq!(set.canonical("MEN'S CLOTHING").as_deref(), Some("Men's Clothing"));
        assert_eq!(set.canonical("Gadgets"), None);
        assert_eq!(
            set.examples(2),
            vec!["Electronics".to_string(), "Home & Garden".into()]
        );
        assert_eq!(set.len(), 3);
        assert!(!set.is_empty());
        assert!(CategorySet::default().is_empty());
        assert!(CategorySet::new(Vec::<String>::new()).examples(3).is_empty());
    }
}
