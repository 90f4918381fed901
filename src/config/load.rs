//! Reading the TOML: every section on its own, every problem pinned to its key and line.

use super::check::{key, validate};
use super::*;

/// Reads and validates a config file, running `checks` after `config`'s own (`app::load_config`
/// passes every module's). `Err` holds every problem found.
pub fn load(path: &Path, checks: &[Check]) -> Result<Config, Vec<Problem>> {
    let raw = std::fs::read_to_string(path).map_err(|e| {
        vec![Problem { key: "(file)".into(), line: None, message: format!("cannot read {}: {}", path.display(), e) }]
    })?;
    parse_with(&raw, checks)
}

/// The top-level sections a config may have (each read by `parse` below).
const SECTIONS: &[&str] = &[
    "irc",
    "channels",
    "storage",
    "access",
    "commands",
    "sal",
    "web",
    "incidents",
    "clinic",
    "ratelimit",
    "publish",
    "ingest",
    "alerts",
];

/// Parses config text and runs `config`'s own checks (`app::parse_config` runs every module's).
/// `Err` holds every problem found.
pub fn parse(raw: &str) -> Result<Config, Vec<Problem>> {
    parse_with(raw, &[])
}

/// Parses and validates config text, running `checks` after `config`'s own.
///
/// Each section (and each `[[channels]]` entry) is read on its own, so a wrong value in one
/// does not hide the problems in the others.
pub fn parse_with(raw: &str, checks: &[Check]) -> Result<Config, Vec<Problem>> {
    let tree = toml::de::DeTable::parse(raw).map_err(|e| vec![value_problem(raw, &e, &key(&["(syntax)"]))])?;
    let root = tree.get_ref();
    let mut problems = Vec::new();
    for (k, _) in root.iter() {
        if !SECTIONS.contains(&k.get_ref().as_ref()) {
            problems.push(Problem {
                key: k.get_ref().to_string(),
                line: Some(line_of(raw, k.span().start)),
                message: "unknown section (check the spelling against config.example.toml)".into(),
            });
        }
    }
    let read = |name: &str| root.get(name).map(|v| (v.clone(), vec![name.to_string()]));
    let irc: Option<IrcConfig> = required(raw, root, read("irc"), "irc", &mut problems);
    let storage: Option<StorageConfig> = required(raw, root, read("storage"), "storage", &mut problems);
    let access: Option<AccessConfig> = optional(raw, root, read("access"), &mut problems);
    let commands: Option<CommandsConfig> = optional(raw, root, read("commands"), &mut problems);
    let sal: Option<SalConfig> = optional(raw, root, read("sal"), &mut problems);
    let web: Option<WebConfig> = optional(raw, root, read("web"), &mut problems);
    let incidents: Option<IncidentsConfig> = optional(raw, root, read("incidents"), &mut problems);
    let publish: Option<PublishConfig> = optional(raw, root, read("publish"), &mut problems);
    let clinic: Option<ClinicConfig> = optional(raw, root, read("clinic"), &mut problems);
    let ratelimit: Option<RateLimitConfig> = optional(raw, root, read("ratelimit"), &mut problems);
    let ingest: Option<IngestConfig> = optional(raw, root, read("ingest"), &mut problems);
    let alerts: Option<Option<AlertsConfig>> = optional(raw, root, read("alerts"), &mut problems);
    let mut channels = Vec::new();
    let mut channels_ok = true;
    if let Some(value) = root.get("channels") {
        match value.get_ref() {
            toml::de::DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = vec!["channels".to_string(), i.to_string()];
                    match section::<ChannelConfig>(raw, root, item.clone(), path, &mut problems) {
                        Some(c) => channels.push(c),
                        None => channels_ok = false,
                    }
                }
            }
            _ => {
                channels_ok = false;
                problems.push(Problem {
                    key: "channels".into(),
                    line: locate(raw, root, &["channels".to_string()]),
                    message: "must be a list of [[channels]] tables".into(),
                });
            }
        }
    }
    if let (Some(irc), Some(storage), true) = (irc, storage, channels_ok) {
        let config = Config {
            irc,
            channels,
            storage,
            access: access.unwrap_or_default(),
            commands: commands.unwrap_or_default(),
            sal: sal.unwrap_or_default(),
            web: web.unwrap_or_default(),
            incidents: incidents.unwrap_or_default(),
            publish: publish.unwrap_or_default(),
            clinic: clinic.unwrap_or_default(),
            ratelimit: ratelimit.unwrap_or_default(),
            ingest: ingest.unwrap_or_default(),
            alerts: alerts.flatten(),
        };
        for (segments, message) in validate(&config).into_iter().chain(checks.iter().flat_map(|check| check(&config))) {
            problems.push(Problem { key: segments.join("."), line: locate(raw, root, &segments), message });
        }
        if problems.is_empty() {
            return Ok(config);
        }
    }
    Err(problems)
}

type Found<'i> = Option<(toml::Spanned<toml::de::DeValue<'i>>, Vec<String>)>;

fn required<T: serde::de::DeserializeOwned>(
    raw: &str,
    root: &toml::de::DeTable<'_>,
    found: Found<'_>,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match found {
        Some((value, path)) => section(raw, root, value, path, problems),
        None => {
            problems.push(Problem { key: name.into(), line: None, message: format!("missing section [{name}]") });
            None
        }
    }
}

fn optional<T: serde::de::DeserializeOwned + Default>(
    raw: &str,
    root: &toml::de::DeTable<'_>,
    found: Found<'_>,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match found {
        Some((value, path)) => section(raw, root, value, path, problems),
        None => Some(T::default()),
    }
}

/// Reads one section, reporting every unknown key in it and every bad value, each with its key.
///
/// serde stops at the first bad value, so a bad key is reported and taken out of the section,
/// and the section is read again, until it reads or a problem cannot be pinned to a key.
fn section<T: serde::de::DeserializeOwned>(
    raw: &str,
    root: &toml::de::DeTable<'_>,
    mut value: toml::Spanned<toml::de::DeValue<'_>>,
    path: Vec<String>,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let mut unknown: Vec<Vec<String>> = Vec::new();
    let mut removed: Vec<Vec<String>> = Vec::new();
    let result = loop {
        let mut seen = Vec::new();
        let result: Result<T, _> = serde_ignored::deserialize(toml::de::ValueDeserializer::from(value.clone()), |p| {
            seen.push(path_segments(&p))
        });
        for segments in seen {
            if !unknown.contains(&segments) {
                unknown.push(segments);
            }
        }
        let e = match result {
            Ok(v) => break Some(v),
            Err(e) => e,
        };
        let at = e.span().and_then(|span| words::key_at(&value, span));
        let full = |rel: &[String]| -> Vec<String> { path.iter().cloned().chain(rel.iter().cloned()).collect() };
        match at {
            Some(rel) if !rel.is_empty() && words::remove(&mut value, &rel) => {
                problems.push(value_problem(raw, &e, &full(&rel)));
                removed.push(rel);
            }
            _ => {
                // A required key we took out for being bad is missing now: said already.
                let missing = words::missing_field(e.message());
                if !missing.is_some_and(|m| removed.iter().any(|r| r.last().is_some_and(|l| *l == m))) {
                    let mut key = path.clone();
                    key.extend(at.unwrap_or_default());
                    key.extend(missing.map(String::from));
                    problems.push(value_problem(raw, &e, &key));
                }
                break None;
            }
        }
    };
    for segments in unknown {
        let full: Vec<String> = path.iter().cloned().chain(segments).collect();
        problems.push(Problem {
            key: full.join("."),
            line: locate(raw, root, &full),
            message: "unknown key (check the spelling against config.example.toml)".into(),
        });
    }
    result.filter(|_| removed.is_empty())
}

const SECRET_KEYS: &[&str] = &["password", "key", "token", "secret"];

fn value_problem(raw: &str, e: &toml::de::Error, key: &[String]) -> Problem {
    let line = e.span().map(|s| line_of(raw, s.start));
    // The message may quote the offending value; hide it when that line holds a secret.
    let on_secret_line = line
        .and_then(|l| raw.lines().nth(l - 1))
        .map(|text| text.split('=').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|key| SECRET_KEYS.iter().any(|s| key == *s));
    let key = key.join(".");
    let message = if on_secret_line {
        "invalid value (not shown: it is a secret)".to_string()
    } else {
        words::in_words(e.message().trim(), &key)
    };
    Problem { key, line, message }
}

fn line_of(raw: &str, offset: usize) -> usize {
    raw[..offset.min(raw.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

fn path_segments(path: &serde_ignored::Path<'_>) -> Vec<String> {
    use serde_ignored::Path;
    match path {
        Path::Root => Vec::new(),
        Path::Seq { parent, index } => {
            let mut v = path_segments(parent);
            v.push(index.to_string());
            v
        }
        Path::Map { parent, key } => {
            let mut v = path_segments(parent);
            v.push(key.clone());
            v
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            path_segments(parent)
        }
    }
}

/// The line of the key at `segments` in the document, walking the parsed tree with its spans.
fn locate(raw: &str, root: &toml::de::DeTable<'_>, segments: &[String]) -> Option<usize> {
    use toml::de::DeValue;
    let mut table = root;
    let mut array: Option<&toml::de::DeArray<'_>> = None;
    let mut line = None;
    for seg in segments {
        let value = if let Some(items) = array.take() {
            items.get(seg.parse::<usize>().ok()?)?
        } else {
            let (key, value) = table.get_key_value(seg.as_str())?;
            line = Some(line_of(raw, key.span().start));
            value
        };
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    line
}
