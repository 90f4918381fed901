//! What the server told us about itself in `005 RPL_ISUPPORT`.

use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct ISupport {
    tokens: HashMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseMapping {
    Ascii,
    Rfc1459,
    StrictRfc1459,
}

impl ISupport {
    /// Takes the tokens of one 005 line (without our nick and the trailing text).
    pub fn absorb(&mut self, tokens: &[String]) {
        for token in tokens {
            if let Some(removed) = token.strip_prefix('-') {
                self.tokens.remove(removed);
            } else {
                let (k, v) = token.split_once('=').unwrap_or((token, ""));
                self.tokens.insert(k.to_ascii_uppercase(), v.to_string());
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.tokens.get(key).map(String::as_str)
    }

    pub fn has(&self, key: &str) -> bool {
        self.tokens.contains_key(key)
    }

    /// TOPICLEN in bytes; 390 (a common server default) when not advertised.
    pub fn topic_len(&self) -> usize {
        self.get("TOPICLEN").and_then(|v| v.parse().ok()).unwrap_or(390)
    }

    pub fn case_mapping(&self) -> CaseMapping {
        match self.get("CASEMAPPING") {
            Some("ascii") => CaseMapping::Ascii,
            Some("strict-rfc1459") => CaseMapping::StrictRfc1459,
            _ => CaseMapping::Rfc1459,
        }
    }

    pub fn chan_types(&self) -> &str {
        self.get("CHANTYPES").filter(|v| !v.is_empty()).unwrap_or("#&")
    }

    /// Channel-member prefixes from PREFIX, e.g. `(ov)@+` → modes "ov", symbols "@+".
    pub fn prefix(&self) -> (String, String) {
        let raw = self.get("PREFIX").unwrap_or("(ov)@+");
        match raw.strip_prefix('(').and_then(|r| r.split_once(')')) {
            Some((modes, symbols)) => (modes.to_string(), symbols.to_string()),
            None => ("ov".into(), "@+".into()),
        }
    }

    /// The four CHANMODES groups (list, always-param, set-param, no-param).
    pub fn chan_modes(&self) -> [String; 4] {
        let mut groups = self.get("CHANMODES").unwrap_or("beI,k,l,imnpst").split(',').map(String::from);
        std::array::from_fn(|_| groups.next().unwrap_or_default())
    }

    pub fn whox(&self) -> bool {
        self.has("WHOX")
    }

    /// The user mode that marks a bot (`BOT=B`), if the server has one.
    pub fn bot_mode(&self) -> Option<char> {
        self.get("BOT").and_then(|v| v.chars().next())
    }
}

/// Folds a nick or channel name for comparison under `mapping`.
pub fn fold(s: &str, mapping: CaseMapping) -> String {
    s.chars().map(|c| fold_char(c, mapping)).collect()
}

/// Whether `a` and `b` fold to the same name under `mapping`, without building either.
pub fn fold_eq(a: &str, b: &str, mapping: CaseMapping) -> bool {
    a.len() == b.len() && a.chars().map(|c| fold_char(c, mapping)).eq(b.chars().map(|c| fold_char(c, mapping)))
}

fn fold_char(c: char, mapping: CaseMapping) -> char {
    match mapping {
        CaseMapping::Ascii => c.to_ascii_lowercase(),
        CaseMapping::StrictRfc1459 if c == '~' => c,
        CaseMapping::Rfc1459 | CaseMapping::StrictRfc1459 => crate::names::fold_rfc1459(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn reads_the_tokens_we_use() {
        let mut i = ISupport::default();
        assert_eq!(i.topic_len(), 390);
        i.absorb(&tokens("TOPICLEN=307 CASEMAPPING=ascii PREFIX=(qaohv)~&@%+ CHANMODES=IXZbeg,k,FJLfjl,ABCDKMNOPQRSTcimnprstuz WHOX BOT=B"));
        assert_eq!(i.topic_len(), 307);
        assert_eq!(i.case_mapping(), CaseMapping::Ascii);
        assert_eq!(i.prefix(), ("qaohv".into(), "~&@%+".into()));
        assert_eq!(i.chan_modes()[1], "k");
        assert!(i.whox());
        assert_eq!(i.bot_mode(), Some('B'));
        i.absorb(&tokens("-WHOX"));
        assert!(!i.whox());
    }

    #[test]
    fn folds_by_mapping() {
        assert_eq!(fold("Nick[A]~", CaseMapping::Rfc1459), "nick{a}^");
        assert_eq!(fold("Nick[A]~", CaseMapping::StrictRfc1459), "nick{a}~");
        assert_eq!(fold("Nick[A]~", CaseMapping::Ascii), "nick[a]~");
    }
}
