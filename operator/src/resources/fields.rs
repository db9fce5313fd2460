//! What an approval records of the AISystem it assessed: a short digest of each material
//! field. The register holds one per approved assessment, tens of thousands of them, so they
//! are kept as a bit set of spec fields and 64-bit numbers rather than as maps of strings.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::AISystemSpec;

/// The first 64 bits of the SHA-256 of each recorded field of an AISystem's spec (its JSON
/// value; a field left out counts as `null`), written as `{field: "sha256:<16 hex digits>"}`.
/// Finding another value with the same digest takes about 2^64 hash computations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemFields {
    /// Which fields are recorded: bit `i` for the `i`th of [`spec_fields`].
    recorded: u32,
    /// Their digests, in the order of the bits.
    digests: Box<[u64]>,
    /// A name or digest this build cannot read was recorded: nothing can be confirmed.
    unreadable: bool,
}

/// The names of an AISystem's spec fields, sorted: what a bit of [`SystemFields`] stands for.
pub fn spec_fields() -> &'static [String] {
    static FIELDS: OnceLock<Vec<String>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let schema = schemars::schema_for!(AISystemSpec);
        let mut names: Vec<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names.truncate(32);
        names
    })
}

fn digest(spec: &Value, field: &str) -> u64 {
    let bytes = serde_json::to_vec(spec.get(field).unwrap_or(&Value::Null)).unwrap_or_default();
    let hash = Sha256::digest(&bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(first)
}

impl SystemFields {
    /// The digests of `fields` of `system` (names that are not spec fields are skipped; the
    /// policy refuses them).
    pub fn of(system: &AISystemSpec, fields: &[String]) -> Self {
        let spec = serde_json::to_value(system).unwrap_or_default();
        let mut recorded = 0u32;
        for field in fields {
            if let Some(bit) = spec_fields().iter().position(|f| f == field) {
                recorded |= 1 << bit;
            }
        }
        let digests = Self::names(recorded).map(|f| digest(&spec, f)).collect();
        Self {
            recorded,
            digests,
            unreadable: false,
        }
    }

    fn names(recorded: u32) -> impl Iterator<Item = &'static str> {
        spec_fields()
            .iter()
            .enumerate()
            .filter(move |(bit, _)| recorded >> bit & 1 == 1)
            .map(|(_, name)| name.as_str())
    }

    /// The names of the recorded fields, in spec order.
    pub fn fields(&self) -> Vec<&'static str> {
        Self::names(self.recorded).collect()
    }

    /// Whether nothing is recorded (an approval from before fields were bound).
    pub fn is_empty(&self) -> bool {
        self.recorded == 0 && !self.unreadable
    }

    /// The recorded fields whose value differs in `system` now; `["systemFields"]` when the
    /// record cannot be read.
    pub fn changed(&self, system: &AISystemSpec) -> Vec<&'static str> {
        if self.unreadable {
            return vec!["systemFields"];
        }
        if self.recorded == 0 {
            return Vec::new();
        }
        let spec = serde_json::to_value(system).unwrap_or_default();
        Self::names(self.recorded)
            .zip(self.digests.iter())
            .filter(|(field, recorded)| digest(&spec, field) != **recorded)
            .map(|(field, _)| field)
            .collect()
    }
}

impl Serialize for SystemFields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.digests.len()))?;
        for (field, digest) in Self::names(self.recorded).zip(self.digests.iter()) {
            map.serialize_entry(field, &format!("sha256:{digest:016x}"))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for SystemFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let written = BTreeMap::<String, String>::deserialize(deserializer)?;
        let mut recorded = 0u32;
        let mut by_bit = BTreeMap::new();
        let mut unreadable = false;
        for (field, text) in &written {
            let bit = spec_fields().iter().position(|f| f == field);
            let value = text
                .strip_prefix("sha256:")
                .filter(|hex| hex.len() == 16)
                .and_then(|hex| u64::from_str_radix(hex, 16).ok());
            match (bit, value) {
                (Some(bit), Some(value)) => {
                    recorded |= 1 << bit;
                    by_bit.insert(bit, value);
                }
                _ => unreadable = true,
            }
        }
        Ok(Self {
            recorded,
            digests: by_bit.into_values().collect(),
            unreadable,
        })
    }
}

impl JsonSchema for SystemFields {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SystemFields".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<String, String>>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_field_has_a_bit() {
        // A field past the 32nd would never be recorded, and a change to it never void an
        // approval: widen `recorded` before the spec grows that far.
        let schema = schemars::schema_for!(AISystemSpec);
        let fields = schema
            .get("properties")
            .and_then(Value::as_object)
            .map_or(0, serde_json::Map::len);
        assert!(fields > 0 && fields <= 32, "{fields} spec fields");
        assert_eq!(spec_fields().len(), fields);
    }

    fn spec() -> AISystemSpec {
        serde_json::from_value(serde_json::json!({
            "displayName": "S", "riskTier": "High", "lifecycleStage": "Operation",
            "intendedUse": "scoring"
        }))
        .expect("spec")
    }

    #[test]
    fn written_digests_read_back_and_name_what_changed() {
        let fields = ["intendedUse".to_string(), "riskTier".to_string()];
        let recorded = SystemFields::of(&spec(), &fields);
        let text = serde_json::to_string(&recorded).expect("json");
        let read: SystemFields = serde_json::from_str(&text).expect("read");
        assert_eq!(read, recorded);
        let mut changed = spec();
        changed.intended_use = Some("lending".into());
        changed.display_name = "cosmetic".into();
        assert_eq!(read.changed(&changed), ["intendedUse"]);
        assert!(read.changed(&spec()).is_empty());
    }

    #[test]
    fn a_record_this_build_cannot_read_confirms_nothing() {
        for text in [
            r#"{"noSuchField": "sha256:0000000000000000"}"#,
            r#"{"riskTier": "sha256:not-hex"}"#,
            r#"{"riskTier": "sha256:00"}"#,
        ] {
            let read: SystemFields = serde_json::from_str(text).expect("read");
            assert!(!read.is_empty());
            assert_eq!(read.changed(&spec()), ["systemFields"], "{text}");
        }
    }
}
