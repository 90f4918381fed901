//! Config problems in an operator's words, pinned to their key: which key a deserialisation
//! error is about, taking that key out to read on, and "a number from 1 to 65535" for serde's
//! "expected u16".

use std::ops::Range;
use toml::de::DeValue;
use toml::Spanned;

/// The path (inside `value`) of the innermost key whose value, or whose key itself, holds
/// `span`: what a deserialisation error at `span` is about.
pub(super) fn key_at(value: &Spanned<DeValue<'_>>, span: Range<usize>) -> Option<Vec<String>> {
    let DeValue::Table(table) = value.get_ref() else { return None };
    let inside = |r: Range<usize>| r.start <= span.start && span.start < r.end.max(r.start + 1);
    for (k, v) in table.iter() {
        // A `[header]` table's span is its header alone: look inside every table.
        if let Some(mut inner) = key_at(v, span.clone()) {
            inner.insert(0, k.get_ref().to_string());
            return Some(inner);
        }
        if inside(v.span()) || inside(k.span()) {
            return Some(vec![k.get_ref().to_string()]);
        }
    }
    None
}

/// Takes the key at `path` out of `value`; false when there is no such key.
pub(super) fn remove(value: &mut Spanned<DeValue<'_>>, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else { return false };
    let mut at = value;
    for seg in parents {
        let DeValue::Table(table) = at.get_mut() else { return false };
        let Some(next) = table.get_mut(seg.as_str()) else { return false };
        at = next;
    }
    let DeValue::Table(table) = at.get_mut() else { return false };
    table.remove(last.as_str()).is_some()
}

/// The key serde's "missing field `x`" names.
pub(super) fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// serde's message about the value of `key` in words an operator knows.
pub(super) fn in_words(message: &str, key: &str) -> String {
    let message = message.trim();
    if let Some(field) = missing_field(message) {
        return format!("missing key {field} (see config.example.toml)");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let choices: Vec<&str> =
            expected.trim_start_matches("one of ").split([',', ' ']).filter(|w| w.starts_with('`')).collect();
        let choices: Vec<String> = choices.iter().map(|c| format!("\"{}\"", c.trim_matches('`'))).collect();
        return format!("must be one of {}, not \"{}\"", choices.join(", "), found.trim_matches('`'));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let found = rest.split(',').next().unwrap_or(rest).trim_matches('`');
        return format!("unknown key {found} (check the spelling against config.example.toml)");
    }
    for (prefix, shows_value) in [("invalid type: ", false), ("invalid value: ", true)] {
        let Some(rest) = message.strip_prefix(prefix) else { continue };
        let Some((found, expected)) = rest.rsplit_once(", expected ") else { continue };
        let found = if shows_value { found_value(found) } else { found_kind(found) };
        return format!("must be {}, not {found}", expected_words(expected, key));
    }
    message.to_string()
}

/// What serde expected, as an operator would say it.
fn expected_words(expected: &str, key: &str) -> String {
    let is_port = key.rsplit('.').next() == Some("port");
    match expected {
        "u16" if is_port => "a port number from 1 to 65535 (no quotes)".into(),
        "u8" => "a whole number from 0 to 255 (no quotes)".into(),
        "u16" => "a whole number from 0 to 65535 (no quotes)".into(),
        "u32" => "a whole number from 0 to 4294967295 (no quotes)".into(),
        "u64" | "usize" => "a whole number, 0 or more (no quotes)".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number (no quotes)".into(),
        "f32" | "f64" => "a number (no quotes), e.g. 30 or 0.5".into(),
        "a boolean" => "true or false (no quotes)".into(),
        "a string" | "a borrowed string" | "a character" => "text in double quotes".into(),
        "a sequence" => "a list in brackets, e.g. [\"a\", \"b\"]".into(),
        "a map" => "a table of keys".into(),
        e if e.starts_with("struct ") => "a table of keys ([section] or { … })".into(),
        e if e.starts_with("enum ") => "one of the values config.example.toml lists".into(),
        other => other.trim_matches('`').to_string(),
    }
}

/// The kind of value found, from serde's "string \"6667\"" or "integer `5`" (never the value:
/// the caller hides secrets, and the kind is what is wrong).
fn found_kind(found: &str) -> String {
    let word = found.split([' ', '`']).next().unwrap_or(found);
    match word {
        "string" => "text in quotes".into(),
        "integer" => "a whole number".into(),
        "floating" => "a number with a fraction".into(),
        "boolean" => "true/false".into(),
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        other => other.to_string(),
    }
}

/// A value that had the right kind but is out of range, e.g. "integer `70000`" → 70000.
fn found_value(found: &str) -> String {
    match found.split_once('`') {
        Some((_, v)) => v.trim_end_matches('`').to_string(),
        None => found.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_operator_words() {
        assert_eq!(
            in_words("invalid type: string \"6667\", expected u16", "irc.port"),
            "must be a port number from 1 to 65535 (no quotes), not text in quotes"
        );
        assert_eq!(
            in_words("invalid value: integer `70000`, expected u16", "irc.port"),
            "must be a port number from 1 to 65535 (no quotes), not 70000"
        );
        assert_eq!(
            in_words("invalid type: integer `1`, expected a boolean", "irc.tls"),
            "must be true or false (no quotes), not a whole number"
        );
        assert_eq!(
            in_words("unknown variant `open`, expected `public` or `security`", "channels.0.role"),
            "must be one of \"public\", \"security\", not \"open\""
        );
        assert_eq!(in_words("missing field `nick`", "irc"), "missing key nick (see config.example.toml)");
        assert_eq!(in_words("something else", "x"), "something else");
    }
}
