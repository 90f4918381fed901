//! Masking IP addresses in anything that leaves the team, with an allow-list of internal networks.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

/// What a masked address becomes. The whole address goes: keeping a /16 or /24 would still tell
/// a reader the visitor's provider and often their city, and one-way hashes of IPv4 addresses
/// are reversed by trying all 2^32. Privacy wins over telling two addresses apart.
pub(crate) const IP_MASK: &str = "[IP hidden]";

/// An allow-list of internal networks whose addresses need no masking, from CIDR strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Networks {
    nets: Vec<Net>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    V4 { base: u32, prefix: u8 },
    V6 { base: u128, prefix: u8 },
}

impl Networks {
    /// Parses `"10.0.0.0/8"`, `"2620:0:860::/46"` and single addresses (`"198.51.100.7"`, a /32
    /// or /128). Host bits must be zero: `10.64.0.0/1` is far more likely a typo for `/16` than a
    /// wish to stop masking half of the Internet, and a typo here would publish addresses.
    pub(crate) fn parse(cidrs: &[String]) -> Result<Networks, String> {
        let nets = cidrs.iter().map(|s| parse_net(s.trim())).collect::<Result<_, _>>()?;
        Ok(Networks { nets })
    }

    /// Whether `ip` is in one of the networks. An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) is
    /// the IPv4 address it carries.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.nets.iter().any(|net| match (*net, ip) {
            (Net::V4 { base, prefix }, IpAddr::V4(a)) => u32::from(a) & mask_v4(prefix) == base,
            (Net::V6 { base, prefix }, IpAddr::V6(a)) => u128::from(a) & mask_v6(prefix) == base,
            _ => false,
        })
    }
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

fn parse_net(s: &str) -> Result<Net, String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| format!("{s:?}: not an IP address or CIDR network"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(p) if p <= max => p,
            _ => return Err(format!("{s:?}: prefix length must be 0 to {max}")),
        },
    };
    let net = match addr {
        IpAddr::V4(a) => Net::V4 { base: u32::from(a) & mask_v4(prefix), prefix },
        IpAddr::V6(a) => Net::V6 { base: u128::from(a) & mask_v6(prefix), prefix },
    };
    let base_matches = match (net, addr) {
        (Net::V4 { base, .. }, IpAddr::V4(a)) => base == u32::from(a),
        (Net::V6 { base, .. }, IpAddr::V6(a)) => base == u128::from(a),
        _ => false,
    };
    if !base_matches {
        let base: IpAddr = match net {
            Net::V4 { base, .. } => Ipv4Addr::from(base).into(),
            Net::V6 { base, .. } => Ipv6Addr::from(base).into(),
        };
        return Err(format!("{s:?}: host bits are set (did you mean {base}/{prefix}?)"));
    }
    Ok(net)
}

/// IPv6 candidates: 2 to 7 `hex:` groups (empty groups make `::`), then a last group or an
/// embedded IPv4 (`::ffff:1.2.3.4`), then an optional zone (`fe80::1%eth0`). Deliberately loose:
/// `12:30:45` and `dead:beef:cafe` match too, and std's parser throws them out.
/// ASCII digits only: `\d` would also take other scripts' digits, which no parser accepts.
const V6_CANDIDATE: &str =
    r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?(?:%[0-9A-Za-z_.-]{1,16})?";
const V4_CANDIDATE: &str = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}";

static IP_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    // Bracketed first (`[2001:db8::1]:443` in URLs): the brackets go with the address.
    let pattern =
        format!(r"\[(?P<bracketed>{V6_CANDIDATE}|{V4_CANDIDATE})\]|(?P<v6>{V6_CANDIDATE})|(?P<v4>{V4_CANDIDATE})");
    Regex::new(&pattern).unwrap_or_else(|e| panic!("IP candidate pattern: {e}"))
});

/// `text` with every IPv4/IPv6 address not in `allowed` replaced by [`IP_MASK`].
///
/// Candidates found by a loose pattern are confirmed with std's parsers and by looking at their
/// neighbours, so that what only resembles an address stays:
/// - versions and OIDs: `1.42.0`, `1.2.3` and `1.2.3.4.5` (a dotted run of other than four
///   numbers is not an address), `v1.2.3.4` (glued to a letter);
/// - times and dates: `12:30`, `2026-11-22T10:00:00` (no valid IPv6 has three groups and no `::`);
/// - MAC addresses `00:1a:2b:3c:4d:5e`: six groups is no IPv6 either, and on an SRE channel a MAC
///   is a server's, not a person's;
/// - `profile::mediawiki`, `std::net`, `foo :: bar`: an address glued to a letter does not count,
///   nor `::` with no digit at all.
///
/// Four dotted numbers up to 255 are masked even when they are a four-part version: the two
/// cannot be told apart, and privacy wins. Leading zeros (`010.001.002.003`) are read as decimal
/// and masked, as a reader would. Loopback and unspecified addresses are masked too unless
/// allow-listed: the allow-list is the single place that decides.
pub(crate) fn mask_ips<'a>(text: &'a str, allowed: &Networks) -> Cow<'a, str> {
    let mut out: Option<String> = None;
    let mut copied = 0; // `text[..copied]` is already in `out` (or is unchanged)
    let mut at = 0;
    while let Some(caps) = IP_CANDIDATE.captures_at(text, at) {
        let Some(whole) = caps.get(0) else { break };
        match confirm(text, &caps) {
            Some((range, ip)) => {
                if !allowed.contains(ip) {
                    let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    out.push_str(&text[copied..range.start]);
                    out.push_str(IP_MASK);
                    copied = range.end;
                }
                at = range.end;
            }
            // A rejected candidate may hide a real address that starts inside it (`ab:cd:1.2.3.4`),
            // so look again from its next character rather than from its end.
            None => at = next_char(text, whole.start()),
        }
        if at >= text.len() {
            break;
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

fn next_char(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(text.len(), |c| i + c.len_utf8())
}

/// The byte range to replace and the address, if the candidate is a real, free-standing address.
fn confirm(text: &str, caps: &regex::Captures<'_>) -> Option<(std::ops::Range<usize>, IpAddr)> {
    if let Some(m) = caps.name("bracketed") {
        // The brackets already delimit it; only the content has to parse.
        let whole = caps.get(0)?;
        return parse_candidate(m.as_str()).map(|ip| (whole.range(), ip));
    }
    if let Some(m) = caps.name("v4") {
        let ip = parse_v4(m.as_str())?;
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        if before.is_some_and(is_word_char) || after.is_some_and(is_word_char) {
            return None;
        }
        // More dotted numbers before or after: a longer version or an OID, not an address.
        let before2 = text[..m.start()].chars().rev().nth(1);
        let after2 = text[m.end()..].chars().nth(1);
        if (before == Some('.') && before2.is_some_and(|c| c.is_ascii_digit()))
            || (after == Some('.') && after2.is_some_and(|c| c.is_ascii_digit()))
        {
            return None;
        }
        return Some((m.range(), IpAddr::V4(ip)));
    }
    let m = caps.name("v6")?;
    let mut before = text[..m.start()].chars().rev();
    match (before.next(), before.next()) {
        (Some(c), _) if is_word_char(c) => return None,
        // Inside a longer run of hex groups (`1:2:3:4:5:6:7:8:9`), as `.` is for IPv4 above.
        // `host:2001:db8::1` still counts.
        (Some(':'), Some(c)) if c.is_ascii_hexdigit() => return None,
        _ => {}
    }
    // The pattern is greedy about a trailing colon ("2001:db8::1: down"); give it back.
    let mut s = m.as_str();
    if s.ends_with(':') && !s.ends_with("::") {
        s = &s[..s.len() - 1];
    }
    if !s.bytes().any(|b| b.is_ascii_hexdigit()) {
        return None; // `::` alone is punctuation far more often than the unspecified address
    }
    // Look past the given-back colon: what follows the whole candidate must end the address.
    if text[m.end()..].chars().next().is_some_and(|c| is_word_char(c) || c == ':') {
        return None;
    }
    Some((m.start()..m.start() + s.len(), parse_candidate(s)?))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn parse_candidate(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        // std does not take zone ids (`fe80::1%eth0`); the zone is masked along with the address.
        let addr = s.split_once('%').map_or(s, |(a, _)| a);
        addr.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        parse_v4(s).map(IpAddr::V4)
    }
}

/// Four decimal octets. std's parser rejects leading zeros (inet_aton would read them as octal),
/// but a person writing `010.064.000.012` means decimal, and it must be masked all the same.
fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        *octet = parts.next()?.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(cidrs: &[&str]) -> Networks {
        let owned: Vec<String> = cidrs.iter().map(|s| s.to_string()).collect();
        Networks::parse(&owned).expect("valid networks")
    }

    fn wmf() -> Networks {
        nets(&["10.0.0.0/8", "2620:0:860::/46", "198.51.100.7"])
    }

    const H: &str = IP_MASK;

    fn mask_catalogue() -> Vec<(&'static str, String)> {
        let row = |i: &'static str, o: &str| (i, o.replace("{H}", H));
        vec![
            // Masked.
            row("blocked 208.80.154.224:443", "blocked {H}:443"),
            row("[2001:db8::1]:443", "{H}:443"),
            row("http://[2001:db8::1]:8080/x", "http://{H}:8080/x"),
            row("2001:db8::1", "{H}"),
            row("2001:DB8::A", "{H}"),
            row("2001:0db8:0000:0000:0000:0000:0000:0001", "{H}"),
            row("2001:db8:0:0:0:0:0:1 and 2001:db8::2:1", "{H} and {H}"),
            row("::ffff:1.2.3.4", "{H}"),
            row("64:ff9b::192.0.2.33 (NAT64)", "{H} (NAT64)"),
            row("fe80::1%eth0 link-local", "{H} link-local"),
            row("::1 and 127.0.0.1", "{H} and {H}"),
            row("http://1.2.3.4/x", "http://{H}/x"),
            row("from 203.0.113.5.", "from {H}."),
            row("(203.0.113.5)", "({H})"),
            row("203.0.113.5,198.51.100.8", "{H},{H}"),
            row("X-Forwarded-For: 203.0.113.5, 2001:db8::5", "X-Forwarded-For: {H}, {H}"),
            row("banned 203.0.113.0/24", "banned {H}/24"),
            row("8.8.8.8-8.8.4.4", "{H}-{H}"),
            row("user@203.0.113.5", "user@{H}"),
            row("ip:203.0.113.5 and ip=203.0.113.6", "ip:{H} and ip={H}"),
            row("4.3.2.1.in-addr.arpa", "{H}.in-addr.arpa"),
            row("192.000.002.001 and 010.001.002.003", "{H} and 010.001.002.003"),
            row("[203.0.113.5]", "{H}"),
            row("2001:db8::1: down", "{H}: down"),
            row("ab:cd:1.2.3.4", "ab:cd:{H}"),
            row("2620:0:864::1 is outside", "{H} is outside"),
            row("1.2.3.4 upgraded to 1.2.3.4", "{H} upgraded to {H}"),
            row("ünï 203.0.113.5 ✓", "ünï {H} ✓"),
            row("٢٠٣.٠.١١٣.٥ (Arabic-Indic digits) is no address", "٢٠٣.٠.١١٣.٥ (Arabic-Indic digits) is no address"),
            // Allowed.
            row("restarted 10.64.0.12", "restarted 10.64.0.12"),
            row("mw1234 (10.64.0.12:80)", "mw1234 (10.64.0.12:80)"),
            row("2620:0:861:1::10", "2620:0:861:1::10"),
            row("[2620:0:860:ed1a::1]:443", "[2620:0:860:ed1a::1]:443"),
            row("::ffff:10.1.2.3", "::ffff:10.1.2.3"),
            row("198.51.100.7 ok, 198.51.100.8 not", "198.51.100.7 ok, {H} not"),
            // Not addresses.
            row("deployed 1.42.0-wmf.3", "deployed 1.42.0-wmf.3"),
            row("1.2.3 and 1.2.3.4.5 and 1.3.6.1.4.1.2021", "1.2.3 and 1.2.3.4.5 and 1.3.6.1.4.1.2021"),
            row("v1.2.3.4 and php7.4.33.1", "v1.2.3.4 and php7.4.33.1"),
            row("at 12:30, 10:00:00 and 2026-11-22T10:00:00", "at 12:30, 10:00:00 and 2026-11-22T10:00:00"),
            row("12:30:45.123", "12:30:45.123"),
            row("nic 00:1a:2b:3c:4d:5e", "nic 00:1a:2b:3c:4d:5e"),
            row("dead:beef and dead:beef:cafe", "dead:beef and dead:beef:cafe"),
            row("T123456 1a2b3c4d", "T123456 1a2b3c4d"),
            row("profile::mediawiki::webserver", "profile::mediawiki::webserver"),
            row("std::net::IpAddr, Foo::Bad, a :: b, ::", "std::net::IpAddr, Foo::Bad, a :: b, ::"),
            row("256.1.1.1 and 1.2.3.999", "256.1.1.1 and 1.2.3.999"),
            row("1.234.567.890 bytes", "1.234.567.890 bytes"),
            row("1.2.3.4a", "1.2.3.4a"),
            row("mw1234.eqiad.wmnet", "mw1234.eqiad.wmnet"),
            row(
                "https://gerrit.wikimedia.org/r/c/operations/puppet/+/123456",
                "https://gerrit.wikimedia.org/r/c/operations/puppet/+/123456",
            ),
            row("1:2:3:4:5:6:7:8:9:0", "1:2:3:4:5:6:7:8:9:0"),
            row("", ""),
        ]
    }

    #[test]
    fn mask_catalogue_rows() {
        let allowed = wmf();
        for (input, expected) in mask_catalogue() {
            assert_eq!(mask_ips(input, &allowed), expected, "{input}");
        }
    }

    #[test]
    fn masking_is_idempotent() {
        let allowed = wmf();
        for (input, _) in mask_catalogue() {
            let once = mask_ips(input, &allowed).into_owned();
            assert_eq!(mask_ips(&once, &allowed), once, "{input}");
        }
    }

    #[test]
    fn unchanged_text_is_borrowed() {
        assert!(matches!(mask_ips("restarted 10.64.0.12 for T1", &wmf()), Cow::Borrowed(_)));
    }

    #[test]
    fn empty_allow_list_masks_everything() {
        let none = Networks::default();
        assert_eq!(mask_ips("10.64.0.12 2620:0:861:1::10 ::1", &none), format!("{H} {H} {H}"));
        assert_eq!(nets(&[]), none);
    }

    #[test]
    fn zero_compression_forms_are_the_same_address() {
        let allowed = nets(&["2001:db8:0:1::/64"]);
        for form in
            ["2001:db8:0:1::5", "2001:db8::1:0:0:0:5", "2001:0db8:0000:0001:0000:0000:0000:0005", "2001:DB8:0:1:0::5"]
        {
            assert_eq!(mask_ips(form, &allowed), form, "allowed in any spelling");
            assert_eq!(mask_ips(form, &Networks::default()), H, "masked in any spelling");
        }
    }

    #[test]
    fn networks_parse_and_contain() {
        let n = wmf();
        let ip = |s: &str| s.parse::<IpAddr>().expect("test address");
        assert!(n.contains(ip("10.255.255.255")));
        assert!(!n.contains(ip("11.0.0.0")));
        assert!(n.contains(ip("2620:0:863:ffff::1")));
        assert!(!n.contains(ip("2620:0:864::")));
        assert!(n.contains(ip("198.51.100.7")));
        assert!(!n.contains(ip("198.51.100.6")));
        assert!(n.contains(ip("::ffff:10.0.0.1")), "IPv4-mapped");
        assert!(!n.contains(ip("::10.0.0.1")), "IPv4-compatible is just IPv6");
        let everything = nets(&["0.0.0.0/0", "::/0"]);
        assert!(everything.contains(ip("203.0.113.5")) && everything.contains(ip("2001:db8::1")));
        assert!(nets(&[" 10.0.0.0/8 "]).contains(ip("10.1.1.1")), "surrounding spaces");
    }

    #[test]
    fn networks_reject_bad_input() {
        for bad in
            ["", "/8", "foo", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/x", "2620:0:860::/129", "10.64.0.0/1", "1.2.3.4/"]
        {
            let err = Networks::parse(&[bad.to_string()]).expect_err(bad);
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        let err = Networks::parse(&["10.64.0.1/16".to_string()]).expect_err("host bits");
        assert!(err.contains("10.64.0.0/16"), "{err}");
    }

    #[test]
    fn std_rejects_leading_zeros_which_is_why_parse_v4_exists() {
        assert!("010.0.0.1".parse::<Ipv4Addr>().is_err());
        assert_eq!(parse_v4("010.0.0.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(parse_v4("1.2.3"), None);
        assert_eq!(parse_v4("1.2.3.4.5"), None);
    }

    #[test]
    fn masking_survives_odd_input() {
        let none = Networks::default();
        for s in [
            ":",
            "::",
            ":::",
            "[",
            "[]",
            "[::]",
            "1.",
            ".1",
            "%",
            "::%",
            "é:é:é",
            "[1.2.3.4",
            "1.2.3.4]",
            "\u{0}1.2.3.4",
        ] {
            let _ = mask_ips(s, &none);
        }
        assert_eq!(mask_ips("[::]", &none), H);
        let long = "1:".repeat(10_000);
        let _ = mask_ips(&long, &none);
    }
}
