//! The invariants ARCHITECTURE.md states, checked against the sources: each test reads the files
//! of a module under `src/` and fails naming the file, the line and the rule it breaks.
//!
//! A module "imports" another when its code (comments and unit tests aside) names it by a path
//! from the crate root (`crate::irc::Sender`, `use crate::{irc, store}`) or by climbing out of
//! itself with `super::`. Reaching a module through a re-export is not seen: keep re-exports
//! within a module's own children.

use regex::Regex;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `src/…` for messages.
fn rel(file: &Path) -> String {
    file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(file).display().to_string()
}

/// The files of `module` (`src/m.rs`, or `src/m/mod.rs` and everything under `src/m/`); a
/// path such as `web::db` names a submodule.
fn files(module: &str) -> Vec<PathBuf> {
    let rel: PathBuf = module.split("::").collect();
    let mut out = Vec::new();
    let single = src().join(&rel).with_extension("rs");
    if single.is_file() {
        out.push(single);
    }
    collect(&src().join(&rel), &mut out);
    assert!(!out.is_empty(), "no sources for module `{module}`: ARCHITECTURE.md and this test name it");
    out.sort();
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/store/sal.rs` → `store::sal`, `src/irc/session/mod.rs` →
/// `irc::session`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).expect("a file under src/");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The file's code without its comments and its unit tests (line numbers kept). Good enough for
/// this crate's style: unit tests sit at the end of a file in a `#[cfg(test)] mod … {` or in a
/// `tests.rs`, and `//` inside a string literal cuts the rest of that line, which only hides code.
/// Tests may reach across layers to build what they need.
fn code(file: &Path) -> Vec<String> {
    if file.ends_with("tests.rs") || file.ends_with("architecture_tests.rs") {
        return Vec::new();
    }
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let lines: Vec<&str> = text.lines().collect();
    let end = lines.windows(2).position(|w| w[0] == "#[cfg(test)]" && TEST_MODULE.is_match(w[1]));
    lines[..end.unwrap_or(lines.len())]
        .iter()
        .map(|l| l.split_once("//").map_or(*l, |(code, _)| code).to_string())
        .collect()
}

/// An inline test module: `mod tests {` after `#[cfg(test)]` (a `mod tests;` file is skipped whole).
static TEST_MODULE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(pub(\(crate\))? )?mod \w+ \{").unwrap());
static CRATE_PATH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bcrate::(\w+)").unwrap());
static CRATE_GROUP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bcrate::\{").unwrap());
static SUPER_PATH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b((?:super::)+)(\w+)").unwrap());

/// Every top-level module the file names, with the line: `(line number, module)`.
fn imports(file: &Path) -> Vec<(usize, String)> {
    let here = module_of(file);
    let lines = code(file);
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        for c in CRATE_PATH.captures_iter(line) {
            out.push((i + 1, c[1].to_string()));
        }
        for c in SUPER_PATH.captures_iter(line) {
            let up = c[1].matches("super::").count();
            let base = &here[..here.len().saturating_sub(up)];
            out.push((i + 1, base.first().cloned().unwrap_or_else(|| c[2].to_string())));
        }
        // `crate::{a::X, b}` may run over several lines: the first name of each item counts.
        for m in CRATE_GROUP.find_iter(line) {
            let rest = lines[i..].join("\n");
            let group = &rest[m.end()..];
            let mut depth = 1;
            let mut item = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 || (depth == 1 && ch == ',') {
                    if let Some(name) = item.trim().split("::").next().filter(|n| !n.is_empty()) {
                        out.push((i + 1, name.trim_matches(['{', '}', ' ']).to_string()));
                    }
                    item.clear();
                    if depth == 0 {
                        break;
                    }
                } else if depth == 1 {
                    item.push(ch);
                }
            }
        }
    }
    out
}

/// The places where `module` imports one of `forbidden` (`None`: any module but itself).
fn imports_of(module: &str, forbidden: Option<&[&str]>) -> Vec<String> {
    let top = module.split("::").next().unwrap_or(module);
    let mut found = Vec::new();
    for file in files(module) {
        for (line, name) in imports(&file) {
            let bad = match forbidden {
                Some(list) => list.contains(&name.as_str()),
                None => name != top && name != "self",
            };
            if bad {
                found.push(format!("{}:{line}: {module} imports {name}", rel(&file)));
            }
        }
    }
    found
}

fn assert_none(rule: &str, found: Vec<String>) {
    assert!(found.is_empty(), "ARCHITECTURE.md: {rule}, but\n{}", found.join("\n"));
}

#[test]
fn store_never_imports_irc_or_what_uses_the_store() {
    assert_none(
        "`store` never imports `irc`, `bot`, `cmd` or `web`",
        imports_of("store", Some(&["irc", "bot", "cmd", "web"])),
    );
}

#[test]
fn irc_never_imports_the_bot_side() {
    let forbidden = ["store", "cmd", "bot", "incident", "clinic", "publish", "web", "alerts", "ingest"];
    assert_none(
        "`irc` never imports `store`, `cmd`, `bot`, `incident`, `clinic`, `publish`, `web`, `alerts` or `ingest`",
        imports_of("irc", Some(&forbidden)),
    );
}

#[test]
fn config_imports_no_other_module() {
    let found = imports_of("config", None).into_iter().filter(|f| !f.ends_with(" imports names")).collect();
    assert_none("`config` imports no other module of the crate but the leaf `names`", found);
}

#[test]
fn leaves_import_nothing_of_the_crate() {
    for leaf in ["text", "clock", "metrics", "names"] {
        assert_none(&format!("`{leaf}` imports no other module of the crate"), imports_of(leaf, None));
    }
}

#[test]
fn domain_rules_never_do_io_through_the_bot() {
    for module in ["incident", "clinic"] {
        assert_none(
            &format!("`{module}` never imports `store`, `cmd`, `bot` or `web`"),
            imports_of(module, Some(&["store", "cmd", "bot", "web"])),
        );
    }
}

/// The places where `module` names an item of `irc` (`crate::irc::x`) other than `allowed`.
fn irc_items_of(module: &str, allowed: &[&str]) -> Vec<String> {
    let irc_item = Regex::new(r"\bcrate::irc::(\w+)").unwrap();
    let mut found = Vec::new();
    for file in files(module) {
        for (i, line) in code(&file).iter().enumerate() {
            for c in irc_item.captures_iter(line).filter(|c| !allowed.contains(&&c[1])) {
                found.push(format!("{}:{}: {module} uses irc::{}", rel(&file), i + 1, &c[1]));
            }
        }
    }
    found
}

#[test]
fn access_and_ratelimit_know_of_irc_only_the_sender() {
    let mut found = Vec::new();
    for module in ["access", "ratelimit"] {
        found.extend(irc_items_of(module, &["Sender"]));
        found.extend(imports_of(module, Some(&["store", "cmd", "bot", "web"])));
    }
    assert_none("`access` and `ratelimit` take `irc::Sender` and nothing else of `irc`, and no SQL", found);
}

#[test]
fn publish_and_clinic_know_of_irc_only_its_case_rule() {
    let mut found = Vec::new();
    for module in ["publish", "clinic"] {
        found.extend(irc_items_of(module, &["casefold_eq", "isupport"]));
    }
    assert_none("`publish` and `clinic` take of `irc` only its case rule (`casefold_eq`, `isupport::fold`)", found);
}

/// A string literal, so that `Account::LoggedIn` is not taken for words.
static STRING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#""(?:[^"\\]|\\.)*""#).unwrap());

#[test]
fn the_connection_layer_and_the_bot_do_not_word_acks() {
    let mut found = Vec::new();
    for module in ["irc", "bot"] {
        for file in files(module) {
            for (i, line) in code(&file).iter().enumerate() {
                // The words of an ack: `Logged #42, alice`, or merged, `(alice ×5)`.
                if STRING.find_iter(line).any(|s| s.as_str().contains("Logged") || s.as_str().contains('×')) {
                    found.push(format!("{}:{}: {module} words an ack", rel(&file), i + 1));
                }
            }
        }
    }
    assert_none("`irc` and `bot` never word an ack (its words are `cmd::log`'s)", found);
}

#[test]
fn main_only_parses_the_arguments_and_calls_the_library() {
    let file = src().join("main.rs");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut found = Vec::new();
    let lines = text.lines().count();
    if lines >= 80 {
        found.push(format!("{}: {lines} lines (at most 79)", rel(&file)));
    }
    let runtime = Regex::new(r"\btokio\b|^\s*(pub )?mod \w+").unwrap();
    for (i, line) in code(&file).iter().enumerate() {
        if runtime.is_match(line) {
            found.push(format!("{}:{}: main runs or defines something itself", rel(&file), i + 1));
        }
    }
    assert_none(
        "`main.rs` only parses the arguments and calls the library (under 80 lines, no `tokio`, no `mod`)",
        found,
    );
}

#[test]
fn the_web_view_opens_the_database_read_only() {
    let open = Regex::new(r"\b(Connection::open\w*|open_database)\b").unwrap();
    let mut found = Vec::new();
    for file in files("web") {
        let lines = code(&file);
        for (i, line) in lines.iter().enumerate() {
            let Some(m) = open.find(line) else { continue };
            let call: String = lines[i..lines.len().min(i + 4)].concat();
            if m.as_str() != "Connection::open_with_flags" || !call.contains("SQLITE_OPEN_READ_ONLY") {
                found.push(format!("{}:{}: {} without SQLITE_OPEN_READ_ONLY", rel(&file), i + 1, m.as_str()));
            }
        }
    }
    assert_none("`web` opens SQLite only read-only (`web::db`); it writes through `store` alone", found);
}

#[test]
fn migrations_are_numbered_in_order_without_gaps() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    let found: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(i, name)| !name.starts_with(&format!("{:04}_", i + 1)))
        .map(|(i, name)| format!("migrations/{name}: expected number {:04}", i + 1))
        .collect();
    assert_none("migrations are numbered 0001, 0002, … in order, without gaps or doubles", found);
}

static SQL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|WITH)\b"#).unwrap());

#[test]
fn sql_is_written_only_in_store_and_web_db() {
    let mut found = Vec::new();
    let mut all = Vec::new();
    collect(&src(), &mut all);
    for file in all {
        let module = module_of(&file).join("::");
        if module == "store" || module.starts_with("store::") || module == "web::db" {
            continue;
        }
        for (i, line) in code(&file).iter().enumerate() {
            if SQL.is_match(line) {
                found.push(format!("{}:{}: SQL in {module}", rel(&file), i + 1));
            }
        }
    }
    assert_none("SQL is written only in `store` and in `web::db`", found);
}

#[test]
fn only_cli_and_testing_are_public() {
    let lib = src().join("lib.rs");
    let public = Regex::new(r"^pub mod (\w+);").unwrap();
    let found: Vec<String> = code(&lib)
        .iter()
        .enumerate()
        .filter_map(|(i, line)| public.captures(line).map(|c| (i, c[1].to_string())))
        .filter(|(_, name)| name != "cli" && name != "testing")
        .map(|(i, name)| format!("{}:{}: `pub mod {name}`", rel(&lib), i + 1))
        .collect();
    assert_none("only `cli` and `testing` are public top-level modules; the rest are `pub(crate)`", found);
}

#[test]
fn the_crate_doc_names_every_module() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let doc: String = lib.lines().filter_map(|l| l.strip_prefix("//!")).collect::<Vec<_>>().join("\n");
    let declared = Regex::new(r"(?m)^(?:pub(?:\(crate\))? )?mod (\w+);").unwrap();
    let missing: Vec<String> =
        declared.captures_iter(&lib).map(|c| c[1].to_string()).filter(|m| !doc.contains(&format!("`{m}`"))).collect();
    assert!(missing.is_empty(), "lib.rs declares modules its doc does not name: {missing:?}");
}
