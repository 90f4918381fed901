//! Refusing `!log` lines (and other stored text) that look like they carry a secret: vendor token
//! shapes, password assignments, private key blocks, and long high-entropy strings.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// One shape of secret: a pattern and what to call a match. When the pattern has a group named
/// `value`, `accept` judges that group (e.g. `password=***` is a placeholder, not a secret);
/// otherwise it judges the whole match.
struct Rule {
    reason: &'static str,
    pattern: &'static str,
    accept: fn(&str) -> bool,
}

/// The secret shapes, most specific first so that the reason is as precise as possible.
///
/// Token prefixes are the ones the vendors document (and scan for themselves); the lengths are
/// a little below the real ones so that a truncated paste is still caught, yet long enough that
/// prose ("ghp_ tokens", "sk_live_ keys") is not.
const RULES: &[Rule] = &[
    // PEM blocks: `-----BEGIN RSA PRIVATE KEY-----`, OPENSSH, EC, DSA, ENCRYPTED, plain PKCS#8,
    // and `-----BEGIN PGP PRIVATE KEY BLOCK-----`. The dashes are optional because IRC clients
    // eat or join them; the capitals are required so that prose ("begin private key rotation")
    // passes. PUBLIC KEY and CERTIFICATE blocks are public by design.
    Rule { reason: "private key block", pattern: r"BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY", accept: always },
    // The body of an OpenSSH key pasted without its header: base64 of "openssh-key-v1\0".
    Rule { reason: "private key block", pattern: r"b3BlbnNzaC1rZXktdjE", accept: always },
    Rule { reason: "private key (PuTTY)", pattern: r"PuTTY-User-Key-File-\d", accept: always },
    Rule { reason: "private key (age)", pattern: r"AGE-SECRET-KEY-1[0-9A-Z]{50,}", accept: always },
    // GitHub: ghp_ (classic PAT), gho_ (OAuth), ghu_/ghs_ (app user/server), ghr_ (refresh):
    // prefix + 36 base62; fine-grained PATs are github_pat_ + 82 characters.
    Rule {
        reason: "API token (GitHub)",
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})",
        accept: always,
    },
    Rule { reason: "API token (GitLab)", pattern: r"\bgl(?:pat|dt|rt|ptt|soat)-[A-Za-z0-9_-]{20,}", accept: always },
    Rule { reason: "API token (Slack)", pattern: r"\bxox[abposr]-[A-Za-z0-9-]{10,}", accept: always },
    Rule {
        reason: "webhook URL (Slack)",
        pattern: r"hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+",
        accept: always,
    },
    Rule { reason: "API token (npm)", pattern: r"\bnpm_[A-Za-z0-9]{36}\b", accept: always },
    // PyPI tokens are macaroons whose base64 always starts with the same serialized header.
    Rule { reason: "API token (PyPI)", pattern: r"\bpypi-AgE[A-Za-z0-9_-]{50,}", accept: always },
    // AKIA: long-term access key ID, ASIA: temporary (STS) one. Always 20 upper-case base32-ish.
    Rule { reason: "access key ID (AWS)", pattern: r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", accept: always },
    Rule { reason: "API key (Google)", pattern: r"\bAIza[0-9A-Za-z_-]{35}", accept: always },
    // Secret (sk) and restricted (rk) keys; test-mode keys still open the account's test data.
    Rule { reason: "API key (Stripe)", pattern: r"\b[sr]k_(?:live|test)_[0-9A-Za-z]{16,}", accept: always },
    Rule { reason: "API key (OpenAI)", pattern: r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}", accept: always },
    // A JWT is base64url(JSON header).base64url(JSON payload).signature; both JSON objects start
    // with `{"`, which base64url-encodes to `eyJ`. The signature may be empty (alg "none").
    Rule {
        reason: "JSON Web Token",
        pattern: r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
        accept: always,
    },
    // scheme://user:password@host. A user alone (`ssh://git@host`) is not a credential, and
    // `host:port/x@y` does not match because the password part may not contain `/`.
    Rule {
        reason: "credentials in URL",
        pattern: r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/?#@:]+:(?P<value>[^\s/?#@]+)@",
        accept: is_real_value,
    },
    // `Authorization: Bearer …`, `Basic …`, or a bare token after the colon.
    Rule {
        reason: "authorization header",
        pattern: r#"(?i)\b(?:proxy-)?authorization["']?\s*[:=]\s*(?:(?:bearer|basic|token|digest|negotiate)\s+)?(?P<value>[^\s"']+)"#,
        accept: is_real_value,
    },
    // `Bearer <token>` without the header name; 16 characters so that "bearer token" passes.
    Rule {
        reason: "authorization header",
        pattern: r"(?i)\bbearer\s+(?P<value>[A-Za-z0-9._~+/-]{16,}=*)",
        accept: is_real_value,
    },
    Rule {
        reason: "cookie header",
        pattern: r"(?i)\b(?:set-)?cookie\s*:\s*[^\s=;]+=(?P<value>[^\s;]+)",
        accept: is_real_value,
    },
    // `key=value` and `key: value` assignments, in shell, INI, YAML, JSON, PHP (`=>`) and URL
    // query strings. The key must *end* with the secret word (`db_password=`, `$wgDBpassword =`,
    // `"password":`), which is what separates a value from talk about a password ("rotated the
    // password for db root", "password reset for user Foo", "secret_key_base rotation"). The
    // identifier must start after a space or punctuation other than `/` and `.`, so that a path
    // such as `/etc/passwd: fixed modes` is not an assignment.
    Rule {
        reason: "password assignment",
        pattern: r#"(?i)(?:^|[^\w./-])[\w.-]*?(?:pass(?:word|wd|phrase)|pwd)["']?\s*(?:=>|:=|[:=])\s*(?P<value>"[^"]*"|'[^']*'|[^\s"']+)"#,
        accept: is_real_value,
    },
    Rule {
        reason: "secret assignment",
        pattern: r#"(?i)(?:^|[^\w./-])[\w.-]*?(?:secret|token|api[_-]?key|access[_-]?key|private[_-]?key|secret[_-]?key(?:[_-]?base)?|auth[_-]?key|credentials?)["']?\s*(?:=>|:=|[:=])\s*(?P<value>"[^"]*"|'[^']*'|[^\s"']+)"#,
        accept: is_real_value,
    },
    // Command-line flags followed by a space: `--password hunter2`, `--db-pass x`, `--token abc`,
    // `-password x`. A prefix must end in `-` or `_`, so that `--bypass cache` is not a password.
    Rule {
        reason: "password on command line",
        pattern: r#"(?i)(?:^|\s)--?(?:[\w-]*[-_])?(?:pass(?:word|wd|phrase)?|pwd)\s+(?P<value>"[^"]*"|'[^']*'|[^\s"']+)"#,
        accept: is_real_value,
    },
    Rule {
        reason: "secret on command line",
        pattern: r#"(?i)(?:^|\s)--?(?:[\w-]*[-_])?(?:secret|token|api-?key|access-?key|auth-?key)\s+(?P<value>"[^"]*"|'[^']*'|[^\s"']+)"#,
        accept: is_real_value,
    },
    // MySQL and MariaDB clients take the password glued to `-p` (`-phunter2`, `-p'hunter2'`);
    // `-p` alone prompts, and `-P3306` is the port. A glued `-p` means something else in most
    // other tools (`mkdir -p`, `ssh -p22`), so it only counts after one of these commands.
    Rule {
        reason: "password on command line",
        pattern: r"\b(?:mysql|mysqldump|mysqladmin|mysqlcheck|mysqlimport|mariadb|mariadb-dump)\b[^|;&]*?\s-p(?P<value>\S+)",
        accept: is_real_value,
    },
    Rule {
        reason: "password on command line",
        pattern: r"\bsshpass\b[^|;&]*?\s-p\s*(?P<value>\S+)",
        accept: is_real_value,
    },
    Rule {
        reason: "credentials on command line",
        pattern: r"\bcurl\b[^|;&]*?\s(?:-u|--user)\s*(?P<value>\S+)",
        accept: has_password_part,
    },
    // MediaWiki bot passwords are used as login `Name@BotName` with a generated password, which
    // PasswordFactory::generateRandomPasswordString makes 32 characters of lower-case base32
    // (0-9, a-v). We accept any 32 lower-case letters and digits after the login name, but ask
    // for a digit and a letter beyond `f`, so that an MD5 digest after `user@host` passes.
    Rule {
        reason: "bot password (MediaWiki)",
        pattern: r"[^\s@:=]+@[^\s@:=]+(?:\s+|\s*[:=]\s*)(?P<value>[a-z0-9]{32})\b",
        accept: is_bot_password,
    },
];

static ANY_RULE: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(RULES.iter().map(|rule| rule.pattern)).expect("the rules compile one by one"));

static COMPILED_RULES: LazyLock<Vec<(Regex, &'static Rule)>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|rule| {
            let re = Regex::new(rule.pattern).unwrap_or_else(|e| panic!("secret rule {:?}: {e}", rule.reason));
            (re, rule)
        })
        .collect()
});

/// Why `message` looks like a secret, or None. The reason names the kind only ("private key block",
/// "password assignment", "API token (GitHub)", "high-entropy string"), NEVER any part of the secret.
pub(crate) fn looks_like_secret(message: &str) -> Option<&'static str> {
    // One pass over the message for all the rules; most lines match none, and only the rules
    // that match anywhere pay for finding their captures.
    for i in ANY_RULE.matches(message).iter() {
        let (re, rule) = &COMPILED_RULES[i];
        for caps in re.captures_iter(message) {
            let Some(judged) = caps.name("value").or_else(|| caps.get(0)) else { continue };
            if (rule.accept)(judged.as_str()) {
                return Some(rule.reason);
            }
        }
    }
    if high_entropy_runs(message).next().is_some() {
        return Some("high-entropy string");
    }
    None
}

fn always(_: &str) -> bool {
    true
}

/// Whether the value after `password=` (and the like) is a real value rather than a placeholder,
/// a reference to where the secret lives, or a word saying what happened to it.
fn is_real_value(value: &str) -> bool {
    let v = value.trim_end_matches(['.', ',', ';', ')', ']', '}']);
    let v = v.trim_matches(['"', '\'', '`']);
    if v.is_empty() || v.starts_with("--") {
        return false; // `--password --user x`: the next flag, not a value
    }
    // Masks: `***`, `xxxx`, `…`, `???`, `____`.
    if v.chars().all(|c| matches!(c, '*' | 'x' | 'X' | '.' | '…' | '•' | '#' | '?' | '_' | '-')) {
        return false;
    }
    // References: `$DB_PASS`, `${DB_PASS}`, `%(pass)s`, `{{ pass }}`, `<redacted>`, `[hidden]`,
    // `(prompted)`. A path (`token: /etc/srebot/token`) names the file, not its content.
    if v.starts_with(['$', '<', '[', '(', '{', '/', '~']) || v.starts_with("%(") {
        return false;
    }
    // Words that say the secret was taken care of. Kept short on purpose: any longer list starts
    // to contain real passwords.
    const WORDS: &[&str] =
        &["redacted", "hidden", "removed", "censored", "snip", "none", "null", "nil", "unset", "empty", "n/a"];
    !WORDS.iter().any(|w| v.eq_ignore_ascii_case(w))
}

/// `curl -u user:password` has a password; `curl -u user` prompts for one.
fn has_password_part(value: &str) -> bool {
    value.split_once(':').is_some_and(|(_, password)| is_real_value(password))
}

/// See the bot-password rule: 32 lower-case base32 has a digit and a letter above `f` with
/// probability 1 - 2^-32 - (22/32)^32, while a hex digest never has such a letter.
fn is_bot_password(value: &str) -> bool {
    value.bytes().any(|b| b.is_ascii_digit()) && value.bytes().any(|b| (b'g'..=b'z').contains(&b))
}

// High-entropy strings --------------------------------------------------------------------------

/// Shorter random strings are too often ordinary identifiers, and entropy estimates over fewer
/// characters are too noisy to tell them apart. Generated secrets (API keys, AWS secret keys,
/// `pwgen -s 32`, base64 of 24+ bytes) are this long or longer.
const MIN_RANDOM_LEN: usize = 32;

/// Runs of the base64 / base64url / base62 alphabet that look randomly generated.
///
/// `.`, `:` and `=` end a run, so hostnames, versions, URLs and `key=value` are cut into short
/// pieces. What is left is judged by [`looks_random`].
fn high_entropy_runs(message: &str) -> impl Iterator<Item = &str> {
    static RUN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/_-]+").expect("valid run pattern"));
    RUN.find_iter(message)
        .filter(|run| !is_public_digest(&message[..run.start()], run.as_str()))
        .map(|run| run.as_str())
        .filter(|run| looks_random(run))
}

/// Digests are public by design and look as random as keys: SSH host key fingerprints
/// (`SHA256:nThbg6kX…`, posted after every reimage) and subresource-integrity hashes
/// (`sha384-oqVuAfXR…`).
fn is_public_digest(before: &str, run: &str) -> bool {
    ["sha1", "sha256", "sha384", "sha512", "md5"].iter().any(|alg| {
        let n = alg.len() + 1;
        let fingerprint = before.len().checked_sub(n).and_then(|i| before.get(i..));
        let sri = run.get(..n);
        fingerprint.and_then(|t| t.strip_suffix(':')).is_some_and(|a| a.eq_ignore_ascii_case(alg))
            || sri.and_then(|h| h.strip_suffix('-')).is_some_and(|a| a.eq_ignore_ascii_case(alg))
    })
}

/// Whether `run` (ASCII from the base64 alphabets) looks like a generated secret.
///
/// Calibrated on 20,000 random strings per alphabet and length and on the ~45,000 distinct runs
/// of 32+ characters found in a few hundred crates' sources and docs (paths, URLs, identifiers,
/// hashes, test vectors). With these thresholds random base62/base64 is caught 98% of the time
/// at 32 characters and 99.4% at 44 (a 32-byte key in base64); random lower-case base32/base36
/// about 99.5%; upper-case base32 93–99%. Of the corpus runs, only ~50 were flagged: real
/// base64 (certificates, test vectors) and a handful of Windows API names such as
/// `WHvRunVpExitReasonX64ApicSmiTrap`.
fn looks_random(run: &str) -> bool {
    let n = run.len();
    if n < MIN_RANDOM_LEN {
        return false;
    }
    // Hex alone (with dashes for UUIDs) is let through: in a SAL it is commit ids (7–40),
    // checksums (sha256: 64), Gerrit Change-Ids and UUIDs of instances or requests, and only
    // rarely a secret. A hex secret behind a keyword (`secret_key=…`) is still caught above.
    if run.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return false;
    }
    let (mut lower, mut upper, mut digits, mut separators) = (0usize, 0usize, 0usize, 0usize);
    for b in run.bytes() {
        match b {
            b'a'..=b'z' => lower += 1,
            b'A'..=b'Z' => upper += 1,
            b'0'..=b'9' => digits += 1,
            _ => separators += 1,
        }
    }
    // Generated secrets mix letters and digits: 32 random base62 characters have no digit with
    // probability (52/62)^32 = 0.4%. Identifiers and paths made of words usually have none.
    if digits == 0 || lower + upper == 0 {
        return false;
    }
    let entropy = shannon_entropy(run);
    let extra = (n - MIN_RANDOM_LEN) as f64;
    if lower > 0 && upper > 0 {
        // Mixed case: base62/base64. `+/` or `-_` make ~3% of base64; paths and snake/kebab
        // names have a separator every few characters.
        if separators * 100 > n * 15 {
            return false;
        }
        // Random characters change class (lower/upper/digit) at ~62% of neighbours; words in
        // CamelCase at ~20–35%.
        if class_change_ratio(run) < 0.4 {
            return false;
        }
        // Lower-case runs average ~1.7 characters in base62 but 4+ in CamelCase words.
        if mean_lower_run(run) > 3.0 {
            return false;
        }
        // Empirical entropy of random base62 grows with length (median 4.54 bits at 32, 5.16 at
        // 64); the threshold follows its 0.1% quantile (4.07 at 32, 4.33 at 40, 4.80 at 64).
        entropy >= (4.0 + extra * 0.025).min(4.75)
    } else {
        // One case and digits: base32/base36 (bot passwords, TOTP seeds, `pwgen` output). Such
        // strings have no separators; lower-case with separators is a path or a kebab name.
        if separators > 0 || class_change_ratio(run) < 0.15 {
            return false;
        }
        // 0.1% quantile of random base32: 3.66 bits at 32, 3.90 at 40, 4.25 at 64.
        entropy >= (3.6 + extra * 0.02).min(4.2)
    }
}

/// Shannon entropy of the byte distribution of `s`, in bits per byte.
fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| f64::from(c) / n).map(|p| -p * p.log2()).sum()
}

#[derive(PartialEq, Clone, Copy)]
enum Class {
    Lower,
    Upper,
    Digit,
}

fn class(b: u8) -> Option<Class> {
    match b {
        b'a'..=b'z' => Some(Class::Lower),
        b'A'..=b'Z' => Some(Class::Upper),
        b'0'..=b'9' => Some(Class::Digit),
        _ => None,
    }
}

/// Of adjacent alphanumeric pairs, the fraction whose character classes differ.
fn class_change_ratio(run: &str) -> f64 {
    let (mut pairs, mut changes) = (0u32, 0u32);
    for w in run.as_bytes().windows(2) {
        if let (Some(a), Some(b)) = (class(w[0]), class(w[1])) {
            pairs += 1;
            changes += u32::from(a != b);
        }
    }
    if pairs == 0 {
        0.0
    } else {
        f64::from(changes) / f64::from(pairs)
    }
}

/// Mean length of the maximal runs of lower-case letters (0 when there are none).
fn mean_lower_run(run: &str) -> f64 {
    let runs: Vec<usize> =
        run.split(|c: char| !c.is_ascii_lowercase()).filter(|r| !r.is_empty()).map(str::len).collect();
    if runs.is_empty() {
        0.0
    } else {
        runs.iter().sum::<usize>() as f64 / runs.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Token-shaped fixtures are split with concat! so that secret scanners do not flag this file.
    const GITHUB_PAT: &str = concat!("ghp_", "r4Nd0mT0k3nF0rT35t1ngOnlyAbCdEf123456");
    const GITHUB_OAUTH: &str = concat!("gho_", "16C7e42F292c6912E7710c838347Ae178B4a");
    const GITHUB_SERVER: &str = concat!("ghs_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3gH5");
    const GITHUB_USER: &str = concat!("ghu_", "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8");
    const GITHUB_FINE: &str = concat!("github_pat_", "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF");
    const GITLAB: &str = concat!("glpat-", "xY7zW9vU1tS3rQ5pO7nM");
    const SLACK_BOT: &str = concat!("xoxb-", "1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUv");
    const SLACK_USER: &str = concat!("xoxp-", "1234567890-1234567890-1234567890-abcdef");
    const AWS_KEY_ID: &str = concat!("AKIA", "IOSFODNN7EXAMPLE");
    const GOOGLE: &str = concat!("AIza", "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY");
    const STRIPE: &str = concat!("sk_live_", "4eC39HqLyjWDarjtT1zdp7dc");
    const AGE: &str = concat!("AGE-SECRET-KEY-1", "QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQY");
    const NPM: &str = concat!("npm_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
    const PYPI: &str = concat!("pypi-AgE", "IcHlwaS5vcmcCJGI3ZTk0ZWE3LTg1ZjQtNDRkNC1hNGRmLTg2YzM4YzQ2YjQ5NQ");
    const OPENAI: &str = concat!("sk-proj-", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0");
    const SLACK_HOOK: &str =
        concat!("https://hooks.slack.com/services/", "T0A1B2C3D/B4E5F6G7H/a1B2c3D4e5F6g7H8i9J0k1L2");
    const JWT: &str = concat!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    );
    const BOT_PASSWORD: &str = "k3q9m1t7v2c5h8r0a4n6e1j3s5u7b9d2";
    const RANDOM_B62: &str = "Qm8ZfT2kLp9XvR4wNc7HbJ3yDs6GtE1uAo5KiV0x";
    const RANDOM_B64: &str = "q9Vz+3Lk/TmP8wXc2RbN7yHf4JdG6sKa1EuZ0oQi5W==";
    const RANDOM_B36: &str = "x7k2m9q4v1z8c3n6b5t0w2j7r4p9d1s6";

    /// (message, expected reason, the part that is secret)
    fn true_positives() -> Vec<(String, &'static str, String)> {
        let row = |m: &str, r, s: &str| (m.to_string(), r, s.to_string());
        let key_body = "MIIEowIBAAKCAQEA7bq4k9Zg";
        vec![
            row(&format!("-----BEGIN RSA PRIVATE KEY----- {key_body}"), "private key block", key_body),
            row(&format!("oops -----BEGIN OPENSSH PRIVATE KEY----- {key_body}"), "private key block", key_body),
            row(&format!("-----BEGIN PRIVATE KEY----- {key_body}"), "private key block", key_body),
            row(&format!("-----BEGIN EC PRIVATE KEY----- {key_body}"), "private key block", key_body),
            row(&format!("-----BEGIN PGP PRIVATE KEY BLOCK----- {key_body}"), "private key block", key_body),
            row(&format!("BEGIN ENCRYPTED PRIVATE KEY {key_body} (dashes eaten)"), "private key block", key_body),
            row("b3BlbnNzaC1rZXktdjEAAAAABG5vbmU", "private key block", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU"),
            row("PuTTY-User-Key-File-3: ssh-ed25519", "private key (PuTTY)", "ssh-ed25519"),
            row("password=hunter2", "password assignment", "hunter2"),
            row("set PASSWORD=hunter2 on db151", "password assignment", "hunter2"),
            row("passwd: s3cret", "password assignment", "s3cret"),
            row("pwd=c0rrectHorse", "password assignment", "c0rrectHorse"),
            row("export MYSQL_PWD=Tr0ub4dor", "password assignment", "Tr0ub4dor"),
            row("PGPASSWORD=pgs3cret psql -h db1", "password assignment", "pgs3cret"),
            row("$wgDBpassword = 'dbp4ss';", "password assignment", "dbp4ss"),
            row(r#"{"user": "root", "password": "jsonpw1"}"#, "password assignment", "jsonpw1"),
            row("'password' => 'phparr4y',", "password assignment", "phparr4y"),
            row("password = spaced0ut", "password assignment", "spaced0ut"),
            row("api.php?action=login&lgname=Foo&lgpassword=qwerty123", "password assignment", "qwerty123"),
            row("--password=hunter2", "password assignment", "hunter2"),
            row("token=abc123def", "secret assignment", "abc123def"),
            row("secret=t0ps3cr3t", "secret assignment", "t0ps3cr3t"),
            row("api_key=k3y-v4lue", "secret assignment", "k3y-v4lue"),
            row("apikey: 0a1b2c3d", "secret assignment", "0a1b2c3d"),
            row("access_key=AbCdEf012345", "secret assignment", "AbCdEf012345"),
            row("client_secret=cl13nt", "secret assignment", "cl13nt"),
            row("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "secret assignment", "wJalrXUtnFEMI/K7MDENG"),
            row("X-Api-Key: 9f8e7d6c5b", "secret assignment", "9f8e7d6c5b"),
            row("https://example.org/feed?token=s3cr3tfeed&x=1", "secret assignment", "s3cr3tfeed"),
            row("secret_key_base: 8b1f0c", "secret assignment", "8b1f0c"),
            row("mysql --user root --password hunter2 enwiki", "password on command line", "hunter2"),
            row("tool --db-pass hunter2", "password on command line", "hunter2"),
            row("ran tool -password letmein", "password on command line", "letmein"),
            row("cli --api-key K3yV4lu3 list", "secret on command line", "K3yV4lu3"),
            // mysql's -p takes the password glued; `-p` alone would prompt.
            row("mysql -u root -p'hunter2' -h db1", "password on command line", "hunter2"),
            row("mysqldump -uroot -phunter2 enwiki", "password on command line", "hunter2"),
            row("sshpass -p hunter2 ssh host", "password on command line", "hunter2"),
            row("curl -u admin:adm1npw https://x", "credentials on command line", "adm1npw"),
            // The more specific reason wins.
            row(&format!("Authorization: Bearer {JWT}"), "JSON Web Token", JWT),
            row("Authorization: Bearer 0paqueT0kenValue", "authorization header", "0paqueT0kenValue"),
            row("authorization: s3cr3tNoScheme", "authorization header", "s3cr3tNoScheme"),
            row("curl -H 'Authorization: Basic dXNlcjpwYXNz' x", "authorization header", "dXNlcjpwYXNz"),
            row("Bearer Zm9vYmFyYmF6cXV4MTIz", "authorization header", "Zm9vYmFyYmF6cXV4MTIz"),
            row("Cookie: session=abc123xyz", "cookie header", "abc123xyz"),
            row("cloned https://user:pass@host/repo.git", "credentials in URL", "pass"),
            row("mysql://root:r00tpw@db1001:3306/x", "credentials in URL", "r00tpw"),
            row(&format!("token is {GITHUB_PAT}"), "API token (GitHub)", GITHUB_PAT),
            row(GITHUB_OAUTH, "API token (GitHub)", GITHUB_OAUTH),
            row(GITHUB_SERVER, "API token (GitHub)", GITHUB_SERVER),
            row(GITHUB_USER, "API token (GitHub)", GITHUB_USER),
            // The vendor prefix is public (scanners look for it); what follows is the secret.
            row(GITHUB_FINE, "API token (GitHub)", &GITHUB_FINE["github_pat_".len()..]),
            row(&format!("git clone https://{GITHUB_PAT}@github.com/x/y"), "API token (GitHub)", GITHUB_PAT),
            row(GITLAB, "API token (GitLab)", GITLAB),
            row(SLACK_BOT, "API token (Slack)", SLACK_BOT),
            row(SLACK_USER, "API token (Slack)", SLACK_USER),
            row(&format!("key id {AWS_KEY_ID}"), "access key ID (AWS)", AWS_KEY_ID),
            row(GOOGLE, "API key (Google)", GOOGLE),
            row(STRIPE, "API key (Stripe)", STRIPE),
            row(&format!("jwt {JWT} expired"), "JSON Web Token", JWT),
            row(AGE, "private key (age)", &AGE["AGE-SECRET-KEY-1".len()..]),
            row(NPM, "API token (npm)", NPM),
            row(PYPI, "API token (PyPI)", &PYPI["pypi-AgE".len()..]),
            row(OPENAI, "API key (OpenAI)", &OPENAI["sk-proj-".len()..]),
            row(&format!("alerts go to {SLACK_HOOK}"), "webhook URL (Slack)", "a1B2c3D4e5F6g7H8i9J0k1L2"),
            row(&format!("Foo@deploybot {BOT_PASSWORD}"), "bot password (MediaWiki)", BOT_PASSWORD),
            row(&format!("login Admin@maint: {BOT_PASSWORD}"), "bot password (MediaWiki)", BOT_PASSWORD),
            row(&format!("new key {RANDOM_B62}"), "high-entropy string", RANDOM_B62),
            row(&format!("ceph key {RANDOM_B64}"), "high-entropy string", RANDOM_B64.trim_end_matches('=')),
            row(&format!("pw {RANDOM_B36}"), "high-entropy string", RANDOM_B36),
        ]
    }

    fn false_positives() -> Vec<&'static str> {
        vec![
            "restarted db151",
            "depooled mw1234.eqiad.wmnet for reimage",
            "cp3050 varnish restart",
            "deployed 1.42.0-wmf.3 to group1",
            "upgraded envoy to v2.3.4",
            "reverted 1a2b3c4",
            "reverted 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
            "rebooting for T123456",
            "maintenance 2026-11-22T10:00:00Z to 2026-11-22T12:30:00+00:00",
            "request 123e4567-e89b-12d3-a456-426614174000 failed",
            "merged https://gerrit.wikimedia.org/r/c/operations/puppet/+/123456",
            "see https://phabricator.wikimedia.org/T123456",
            "password reset for user Foo",
            "rotated the password for db root",
            "token bucket refill tuned",
            "set secret_key_base rotation in puppet",
            "renewed /etc/ssl/private/star.key",
            "sudo -u www-data php maintenance/run.php",
            "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b4c8a08f6d6f1f8a1d8a5c2e1",
            "sha512 cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
            "base64 aGVsbG8= and dGVzdA==",
            "Synchronized wmf-config/InitialiseSettings.php: Config: [[gerrit:123|Enable X (T123)]] (duration: 00m 56s)",
            "Synchronized php-1.42.0-wmf.3/extensions/CentralAuth/includes/CentralAuthUser.php: Backport (duration: 01m 02s)",
            "ran cookbook sre.hosts.reimage --os bookworm -t T123456 mw1234",
            "-----BEGIN PUBLIC KEY----- is fine to share",
            "-----BEGIN CERTIFICATE----- renewed",
            "mysql -u root -p -h db1001 (prompted)",
            "ssh -p22 bastion; mkdir -p /srv/x",
            "mysql -P3306 -h db1",
            "the bearer token expired, regenerated it",
            "password: [redacted]",
            "password=*** (removed)",
            "token: $DEPLOY_TOKEN from env",
            "secret_key: /etc/srebot/secret",
            "api_key=${API_KEY}",
            "pwd: /srv/mediawiki-staging",
            "/etc/passwd: fixed modes",
            "curl -u admin https://x (prompted)",
            "ssh://git@gerrit.wikimedia.org:29418/operations/puppet",
            "https://grafana.wikimedia.org/d/000000316/mediawiki-overview?orgId=1&var-datasource=eqiad",
            "Change-Id: I3b2f4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b",
            "new host key SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8 (ED25519)",
            "integrity=sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
            "image docker-registry.wikimedia.org/restricted/mediawiki-multiversion:2026-11-22-100000-publish-81",
            "restarted mw-api-ext.eqiad.main-7d9f8c6b5-x2kqz",
            "profile::mediawiki::webserver and role::mediawiki::appserver::api",
            "extensions/CentralAuth/maintenance/fixStuckGlobalRename.php",
            "operations-puppet-tox-py311-docker-1234-5678 passed",
            "cumin2002/srv/deployment/spicerack/cookbooks/sre/hosts",
            "scap backport --bypass cache 1234567",
            "wikibase_client_entity_usage_rebuild_job2 backlog",
            "mailed ops@example.org 9e107d9d372bb6826bd81d3542a419d6",
            "Owner@bot aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "",
            "   ",
            "ünïcödé ✓ password reset, 🔑 not included",
        ]
    }

    #[test]
    fn secret_catalogue_true_positives() {
        for (message, expected, secret) in true_positives() {
            assert!(message.contains(&secret), "catalogue row names its secret: {message}");
            assert_eq!(looks_like_secret(&message), Some(expected), "{message}");
        }
    }

    #[test]
    fn every_rule_has_a_catalogue_row() {
        let expected: Vec<&str> = true_positives().into_iter().map(|(_, reason, _)| reason).collect();
        for reason in RULES.iter().map(|r| r.reason).chain(["high-entropy string"]) {
            assert!(expected.contains(&reason), "no true positive for {reason:?}");
        }
    }

    #[test]
    fn secret_catalogue_false_positives() {
        for message in false_positives() {
            assert_eq!(looks_like_secret(message), None, "{message}");
        }
    }

    #[test]
    fn secret_reasons_never_contain_the_secret() {
        for (message, _, secret) in true_positives() {
            let reason = looks_like_secret(&message).unwrap_or_default().to_lowercase();
            let secret = secret.to_lowercase();
            // No 4-character window of the secret appears in the reason.
            let chars: Vec<char> = secret.chars().collect();
            for w in chars.windows(4.min(chars.len())) {
                let piece: String = w.iter().collect();
                assert!(!reason.contains(&piece), "reason {reason:?} contains {piece:?} of {message}");
            }
        }
    }

    #[test]
    fn secret_detection_survives_odd_input() {
        for s in ["password=", "password:", "--password", "-----BEGIN", "@ ", "a@b ", "=", "\u{0}", "é=é"] {
            let _ = looks_like_secret(s);
        }
        let long = "Ab1".repeat(10_000);
        assert_eq!(looks_like_secret(&long), None, "repetitive, so low entropy");
    }

    #[test]
    fn entropy_thresholds_are_where_the_comments_say() {
        assert!(shannon_entropy("aaaa") < 0.001);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
        assert!(looks_random(RANDOM_B62));
        assert!(!looks_random("ApiQueryAllRevisionsWithContentHandler2"), "CamelCase words");
        assert!(!looks_random(&RANDOM_B62[..31]), "too short to judge");
    }
}
