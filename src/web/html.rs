//! HTML for the web view: escaping, turning task ids, URLs and commit hashes into links, and
//! the page frame. Pure functions, so the escaping (where log viewers have had XSS holes) is
//! tested on its own.

use std::fmt::Write;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where links point: `{}` in a pattern is replaced by the task id or commit hash.
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub task_url: Option<String>,
    pub commit_url: Option<String>,
}

/// A URL we are willing to put in an `href`: http(s) only, no quotes or angle brackets.
fn safe_url(word: &str) -> Option<&str> {
    let lower = word.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) || word.len() < 10 {
        return None;
    }
    // Trailing punctuation usually belongs to the sentence, not the URL.
    let url = word.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '\'', '"']);
    if url.chars().any(|c| c.is_control() || matches!(c, '"' | '<' | '>' | '\'' | '`' | '\\')) {
        return None;
    }
    Some(url)
}

fn is_task(word: &str) -> bool {
    word.len() >= 2
        && word.starts_with('T')
        && word[1..].bytes().all(|b| b.is_ascii_digit())
        && !word[1..].starts_with('0')
}

fn is_commit(word: &str) -> bool {
    (7..=40).contains(&word.len())
        && word.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && word.bytes().any(|b| b.is_ascii_alphabetic())
        && word.bytes().any(|b| b.is_ascii_digit())
}

fn link(out: &mut String, href: &str, text: &str) {
    let _ = write!(out, "<a href=\"{}\">{}</a>", escape(href), escape(text));
}

/// The message as HTML: every byte escaped, with links for URLs, task ids and commit hashes.
pub fn linkify(text: &str, links: &Links) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if let Some(url) = safe_url(word) {
            link(&mut out, url, url);
            out.push_str(&escape(&word[url.len()..]));
            continue;
        }
        // Tasks and hashes may be wrapped in punctuation: (T123), T123, [abc1234].
        let start = word.find(|c: char| c.is_ascii_alphanumeric()).unwrap_or(word.len());
        let end = word.rfind(|c: char| c.is_ascii_alphanumeric()).map(|e| e + 1).unwrap_or(start).max(start);
        let (before, core, after) = (&word[..start], &word[start..end], &word[end..]);
        let target = if is_task(core) {
            links.task_url.as_ref()
        } else if is_commit(core) {
            links.commit_url.as_ref()
        } else {
            None
        };
        match target {
            Some(pattern) => {
                out.push_str(&escape(before));
                link(&mut out, &pattern.replace("{}", core), core);
                out.push_str(&escape(after));
            }
            None => out.push_str(&escape(word)),
        }
    }
    out
}

/// The page frame: title, navigation, body. No scripts: everything is server-rendered.
pub fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — srebot</title>
<link rel="alternate" type="application/atom+xml" title="Server Admin Log" href="/atom/sal">
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 0 1rem 2rem; color: #202122; }}
nav {{ display: flex; gap: 1rem; align-items: center; padding: .6rem 0; border-bottom: 1px solid #c8ccd1; flex-wrap: wrap; }}
nav a {{ font-weight: 600; }}
a {{ color: #0645ad; }}
h1 {{ font-size: 1.5rem; }}
h2 {{ font-size: 1.1rem; margin-top: 1.4rem; border-bottom: 1px solid #eaecf0; }}
ul.sal {{ list-style: none; padding: 0; }}
ul.sal li {{ padding: .15rem 0; }}
time, .id {{ font-family: ui-monospace, monospace; color: #54595d; }}
.nick {{ font-weight: 600; }}
form {{ margin: .8rem 0; display: flex; gap: .5rem; flex-wrap: wrap; }}
input, select, button {{ font: inherit; padding: .25rem .4rem; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #c8ccd1; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
.muted {{ color: #54595d; }}
.incident {{ border: 1px solid #c8ccd1; border-radius: 4px; padding: .2rem .8rem; margin: .8rem 0; overflow-wrap: anywhere; }}
.incident h3 {{ font-size: 1rem; margin: .4rem 0; }}
</style>
</head>
<body>
<nav aria-label="Main"><a href="/sal">Server Admin Log</a><a href="/incidents">Incidents</a><a href="/clinic">Clinic duty</a><a href="/status">Status</a><a href="/atom/sal">Atom</a></nav>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#,
        title = escape(title),
    )
}

/// Percent-encodes a query-string value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links {
            task_url: Some("https://phabricator.example.org/{}".into()),
            commit_url: Some("https://gerrit.example.org/r/q/{}".into()),
        }
    }

    #[test]
    fn links_tasks_urls_and_commits() {
        let html = linkify("fixed (T123456), see https://x.example/a?b=1&c=2. commit 1a2b3c4d", &links());
        assert_eq!(
            html,
            "fixed (<a href=\"https://phabricator.example.org/T123456\">T123456</a>), see \
             <a href=\"https://x.example/a?b=1&amp;c=2\">https://x.example/a?b=1&amp;c=2</a>. commit \
             <a href=\"https://gerrit.example.org/r/q/1a2b3c4d\">1a2b3c4d</a>"
        );
        assert_eq!(linkify("T0123 Tabc deadbeef 12345678", &links()), "T0123 Tabc deadbeef 12345678");
        assert_eq!(linkify("T123", &Links::default()), "T123");
    }

    #[test]
    fn hostile_text_stays_text() {
        for evil in [
            "<script>alert(1)</script>",
            "https://x.example/\"onmouseover=\"alert(1)",
            "javascript:alert(1)",
            "https://a.example/<img src=x onerror=alert(1)>",
            "T123\"><script>",
            "\"'><svg/onload=alert(1)>",
            "https://x.example/'onfocus='alert(1)",
        ] {
            let html = linkify(evil, &links());
            assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<svg"), "{evil} -> {html}");
            assert!(!html.contains("href=\"javascript"), "{html}");
            assert!(!html.contains("\"on") && !html.contains("'on"), "{evil} -> {html}");
        }
    }

    #[test]
    fn escapes_and_encodes() {
        assert_eq!(escape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
        assert_eq!(url_encode("db1 & #sre/ü"), "db1%20%26%20%23sre%2F%C3%BC");
        assert!(page("<x>", "").contains("<title>&lt;x&gt; — srebot</title>"));
    }
}
