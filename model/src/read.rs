//! Lenient readers over any Automerge document.
//!
//! The contract allows string fields to arrive as Automerge `Text` (what the
//! stock JavaScript client writes by default) or as scalar strings, and
//! numbers written from JavaScript may be integers or floats. Every reader in
//! Tavolo goes through these helpers so that all of them agree.

use automerge::{ObjId, ObjType, ScalarValue, Value};
use autosurgeon::{HydrateError, Prop, ReadDoc};

/// The object at `key` of map `obj`, when it is a map (or table).
pub fn get_map<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok()?? {
        (Value::Object(ObjType::Map | ObjType::Table), id) => Some(id),
        _ => None,
    }
}

/// Follows a path of map keys from the root.
pub fn map_at_path<D: ReadDoc>(doc: &D, path: &[&str]) -> Option<ObjId> {
    let mut obj = automerge::ROOT;
    for key in path {
        obj = get_map(doc, &obj, key)?;
    }
    Some(obj)
}

/// A string stored either as a scalar or as a `Text` object.
pub fn get_str<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    prop: impl Into<automerge::Prop>,
) -> Option<String> {
    match doc.get(obj, prop).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        (Value::Object(ObjType::Text), id) => doc.text(&id).ok(),
        _ => None,
    }
}

/// [`map_at_path`] for readers that are plain automerge documents.
pub fn map_at_path_am<D: automerge::ReadDoc>(doc: &D, path: &[&str]) -> Option<ObjId> {
    let mut obj = automerge::ROOT;
    for key in path {
        obj = match automerge::ReadDoc::get(doc, &obj, *key).ok()?? {
            (Value::Object(ObjType::Map | ObjType::Table), id) => id,
            _ => return None,
        };
    }
    Some(obj)
}

/// Every concurrent value of a string field (conflicting writes), winner first.
pub fn get_all_str<D: automerge::ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Vec<String> {
    let Ok(values) = automerge::ReadDoc::get_all(doc, obj, key) else {
        return Vec::new();
    };
    let mut out: Vec<String> = values
        .into_iter()
        .filter_map(|(v, id)| match v {
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Str(s) => Some(s.to_string()),
                _ => None,
            },
            Value::Object(ObjType::Text) => automerge::ReadDoc::text(doc, &id).ok(),
            _ => None,
        })
        .collect();
    // get_all lists the winner last.
    out.reverse();
    out
}

/// Whether the value at `key` is explicitly null (or absent).
pub fn is_null_or_absent<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> bool {
    match doc.get(obj, key) {
        Ok(None) => true,
        Ok(Some((Value::Scalar(s), _))) => matches!(s.as_ref(), ScalarValue::Null),
        _ => false,
    }
}

/// An integer, accepting JavaScript's integral floats and counters.
pub fn get_int<D: ReadDoc>(doc: &D, obj: &ObjId, prop: impl Into<automerge::Prop>) -> Option<i64> {
    match doc.get(obj, prop).ok()?? {
        (Value::Scalar(s), _) => scalar_int(s.as_ref()),
        _ => None,
    }
}

fn scalar_int(s: &ScalarValue) -> Option<i64> {
    match s {
        ScalarValue::Int(i) => Some(*i),
        ScalarValue::Uint(u) => i64::try_from(*u).ok(),
        ScalarValue::Counter(c) => Some(i64::from(c)),
        ScalarValue::Timestamp(t) => Some(*t),
        ScalarValue::F64(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
        _ => None,
    }
}

pub fn get_bool<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<bool> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Boolean(b) => Some(*b),
            _ => None,
        },
        _ => None,
    }
}

/// The keys of the map at `obj`.
pub fn keys<D: ReadDoc>(doc: &D, obj: &ObjId) -> Vec<String> {
    doc.map_range(obj, ..)
        .map(|item| item.key.into_owned())
        .collect()
}

// --- autosurgeon field hydrators (`#[autosurgeon(hydrate = "…")]`) ---

/// Hydrates a string from a scalar or a `Text` object.
pub fn hydrate_string<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    prop: Prop<'_>,
) -> Result<String, HydrateError> {
    let prop = to_am_prop(prop);
    get_str(doc, obj, prop)
        .ok_or_else(|| HydrateError::unexpected("a string or text", "something else".to_string()))
}

/// Like [`hydrate_string`], but absent gives an empty string.
pub fn hydrate_string_or_empty<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    prop: Prop<'_>,
) -> Result<String, HydrateError> {
    Ok(hydrate_opt_string(doc, obj, prop)?.unwrap_or_default())
}

/// Like [`hydrate_string`], but absent or null gives `None`.
pub fn hydrate_opt_string<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    prop: Prop<'_>,
) -> Result<Option<String>, HydrateError> {
    let prop = to_am_prop(prop);
    match doc.get(obj, prop.clone())? {
        None => Ok(None),
        Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Null) => Ok(None),
        Some(_) => get_str(doc, obj, prop).map(Some).ok_or_else(|| {
            HydrateError::unexpected("a string, text or null", "something else".to_string())
        }),
    }
}

/// Hydrates an integer leniently (see [`get_int`]); absent gives 0.
pub fn hydrate_int<D: ReadDoc>(doc: &D, obj: &ObjId, prop: Prop<'_>) -> Result<i64, HydrateError> {
    let prop = to_am_prop(prop);
    match doc.get(obj, prop.clone())? {
        None => Ok(0),
        Some(_) => get_int(doc, obj, prop)
            .ok_or_else(|| HydrateError::unexpected("an integer", "something else".to_string())),
    }
}

/// Hydrates an optional integer leniently: absent, null or not a number
/// gives `None` (an optional setting never makes a document unreadable).
pub fn hydrate_opt_int<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    prop: Prop<'_>,
) -> Result<Option<i64>, HydrateError> {
    Ok(get_int(doc, obj, to_am_prop(prop)))
}

/// Hydrates a boolean; absent gives `false`.
pub fn hydrate_bool<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    prop: Prop<'_>,
) -> Result<bool, HydrateError> {
    let prop = to_am_prop(prop);
    match doc.get(obj, prop)? {
        None => Ok(false),
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Boolean(b) => Ok(*b),
            _ => Err(HydrateError::unexpected(
                "a boolean",
                "something else".to_string(),
            )),
        },
        Some(_) => Err(HydrateError::unexpected(
            "a boolean",
            "an object".to_string(),
        )),
    }
}

fn to_am_prop(prop: Prop<'_>) -> automerge::Prop {
    match prop {
        Prop::Key(k) => automerge::Prop::Map(k.into_owned()),
        Prop::Index(i) => automerge::Prop::Seq(i as usize),
    }
}

/// Builds a map from pairs by inserting them one by one.
///
/// `collect()` into a `BTreeMap` sorts the pairs first, and each key/value
/// type gets its own copy of the stable sort (~4 KB of wasm apiece, 40 KB
/// in the phone's client). Documents hand their keys over in order anyway.
pub trait IntoMap<K: Ord, V>: Iterator<Item = (K, V)> + Sized {
    fn into_map(self) -> std::collections::BTreeMap<K, V> {
        let mut map = std::collections::BTreeMap::new();
        for (k, v) in self {
            map.insert(k, v);
        }
        map
    }
}

impl<K: Ord, V, I: Iterator<Item = (K, V)>> IntoMap<K, V> for I {}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    #[test]
    fn strings_read_the_same_from_scalars_and_text() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "scalar", "ciao").unwrap();
        let t = doc.put_object(ROOT, "text", ObjType::Text).unwrap();
        doc.splice_text(&t, 0, 0, "ciao").unwrap();
        assert_eq!(get_str(&doc, &ROOT, "scalar").as_deref(), Some("ciao"));
        assert_eq!(get_str(&doc, &ROOT, "text").as_deref(), Some("ciao"));
        assert_eq!(get_str(&doc, &ROOT, "missing"), None);
    }

    #[test]
    fn integers_accept_javascript_floats() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "f", 1_700_000_000_000.0_f64).unwrap();
        doc.put(ROOT, "half", 1.5_f64).unwrap();
        doc.put(ROOT, "u", 7_u64).unwrap();
        assert_eq!(get_int(&doc, &ROOT, "f"), Some(1_700_000_000_000));
        assert_eq!(get_int(&doc, &ROOT, "half"), None);
        assert_eq!(get_int(&doc, &ROOT, "u"), Some(7));
    }

    #[test]
    fn into_map_keeps_every_key_once_the_last_value_winning_like_collect() {
        use super::IntoMap;
        let pairs = [("b", 1), ("a", 2), ("b", 3)];
        let inserted = pairs.into_iter().into_map();
        let collected: std::collections::BTreeMap<_, _> = pairs.into_iter().collect();
        assert_eq!(inserted, collected);
        assert_eq!(
            inserted.into_iter().collect::<Vec<_>>(),
            [("a", 2), ("b", 3)]
        );
    }
}
