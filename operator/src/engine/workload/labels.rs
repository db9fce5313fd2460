//! The strings of an object and its labels and annotations, borrowed from the text (or
//! tree) they were read from unless they had to be unescaped: the webhook reads one object
//! per admission, and every allocation counts.

use std::borrow::{Borrow, Cow};
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A string of an object, borrowed from the object's JSON (or parsed tree) unless it had to
/// be unescaped: the webhook reads one object per admission, and every allocation counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Read as a plain string (not a newtype), so that a map key read as `Text` is named
        // in the path of an error.
        struct Chars;
        impl<'de> Visitor<'de> for Chars {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                text: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(Chars)
    }
}

impl Text<'_> {
    /// The same string, owned.
    pub fn into_owned(self) -> Text<'static> {
        Text(owned(self.0))
    }
}

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(text: &'a str) -> Self {
        Self(Cow::Borrowed(text))
    }
}

/// The annotations the rules read. A workload keeps only these: the others (kubectl's
/// last-applied configuration among them, often kilobytes of escaped JSON) are checked to be
/// strings, as Kubernetes requires, and not kept.
pub const RULE_ANNOTATIONS: [&str; 2] = [
    crate::resources::BREAK_GLASS_REASON_ANNOTATION,
    crate::resources::BREAK_GLASS_EXPIRES_ANNOTATION,
];

/// Labels or annotations of an object, sorted by key, each key once: of a key written
/// twice the last value counts, as when JSON is read into a map. An object carries a
/// handful, so one list serves where a tree would allocate a node per object and cost more
/// to fill, search and drop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels<'a>(Vec<(Text<'a>, Text<'a>)>);

impl<'a> Labels<'a> {
    /// The pairs in the order written, settled into key order.
    fn settled(mut pairs: Vec<(Text<'a>, Text<'a>)>) -> Self {
        // A stable sort keeps a repeated key's values in written order; the dedup then moves
        // the later value into the place it keeps.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, kept| {
            let repeated = later.0 == kept.0;
            if repeated {
                std::mem::swap(later, kept);
            }
            repeated
        });
        Self(pairs)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Text<'a>> {
        // Most objects carry a few labels: equality tests lengths first and compares bytes
        // only for a key of the same length, where a search in order compares every key met.
        if self.0.len() <= 8 {
            return self
                .0
                .iter()
                .find(|(k, _)| k.as_ref() == key)
                .map(|(_, v)| v);
        }
        self.0
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .map(|at| &self.0[at].1)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The same labels with every string owned.
    pub fn into_owned(self) -> Labels<'static> {
        Labels(
            self.0
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
}

impl<'a> IntoIterator for Labels<'a> {
    type Item = (Text<'a>, Text<'a>);
    type IntoIter = std::vec::IntoIter<Self::Item>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> Extend<(Text<'a>, Text<'a>)> for Labels<'a> {
    /// Adds pairs; a key already set takes the new value.
    fn extend<I: IntoIterator<Item = (Text<'a>, Text<'a>)>>(&mut self, pairs: I) {
        let mut all = std::mem::take(&mut self.0);
        all.extend(pairs);
        *self = Self::settled(all);
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Labels<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(Pairs { kept: |_| true })
    }
}

/// An object's annotations as the rules need them: only those in [`RULE_ANNOTATIONS`] are
/// kept. The others (kubectl's last-applied configuration among them, often kilobytes of
/// escaped JSON) are checked to be strings, as Kubernetes requires, without being copied.
#[derive(Debug, Default)]
pub(super) struct RuleAnnotations<'a>(pub(super) Labels<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for RuleAnnotations<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(Pairs {
                kept: |key| RULE_ANNOTATIONS.contains(&key),
            })
            .map(RuleAnnotations)
    }
}

/// Reads a map of strings; the values under keys that `kept` refuses are only checked.
struct Pairs {
    kept: fn(&str) -> bool,
}

impl<'de> Visitor<'de> for Pairs {
    type Value = Labels<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of strings")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            if (self.kept)(&key) {
                pairs.push((key, map.next_value()?));
            } else {
                map.next_value::<AnyString>()?;
            }
        }
        Ok(Labels::settled(pairs))
    }
}

/// A string read and dropped: an escaped one is unescaped into the reader's scratch space,
/// never into an allocation of its own.
struct AnyString;

impl<'de> Deserialize<'de> for AnyString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Checked;
        impl Visitor<'_> for Checked {
            type Value = AnyString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<AnyString, E> {
                Ok(AnyString)
            }
        }
        deserializer.deserialize_str(Checked)
    }
}

/// The same text, owned.
pub(crate) fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}
