//! `check-config` as a whole: `config`'s own checks and every module's, on whole config files.

mod tests {
    use super::super::parse_config as parse;
    use crate::config::*;

    const GOOD: &str = r##"
[irc]
server = "127.0.0.1"
nick = "srebot"
alt_nicks = ["srebot_"]

[irc.sasl]
mechanism = "PLAIN"
account = "srebot"
password = "hunter2-secret"

[[channels]]
name = "#sre"
role = "public"

[[channels]]
name = "#sre-security"
role = "security"

[storage]
database = "srebot.sqlite3"

[access]
accounts = ["alice"]
"##;

    #[test]
    fn good_config_loads_with_defaults() {
        let c = parse(GOOD).expect("valid");
        assert_eq!(c.irc.port, 6667);
        assert_eq!(c.irc.username(), "srebot");
        assert_eq!(c.irc.flood.burst, 4);
        assert_eq!(c.channels[1].role, ChannelRole::Security);
        assert_eq!(c.commands.prefix, "!");
        assert!(c.irc.tls_verify);
    }

    #[test]
    fn every_unknown_key_is_reported_with_its_line() {
        let raw = GOOD
            .replace("nick = \"srebot\"", "nick = \"srebot\"\nnickk = 1")
            .replace("role = \"security\"", "role = \"security\"\nrloe = \"x\"")
            .replace("[access]", "[acess]\nfoo = 1\n[access]");
        let problems = parse(&raw).unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert!(keys.contains(&("irc.nickk", Some(5))), "{problems:?}");
        assert!(keys.contains(&("channels.1.rloe", Some(20))), "{problems:?}");
        assert!(keys.iter().any(|(k, _)| *k == "acess"), "{problems:?}");
    }

    #[test]
    fn semantic_problems_are_all_reported() {
        let raw = GOOD
            .replace("\"#sre\"", "\"sre\"")
            .replace("\"srebot_\"", "\"1bad\"")
            .replace("\"alice\"]", "\"alice\"]\nhostmasks = [\"nobang\"]");
        let problems = parse(&raw).unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"channels.0.name"), "{problems:?}");
        assert!(keys.contains(&"irc.alt_nicks.0"), "{problems:?}");
        assert!(keys.contains(&"access.hostmasks.0"), "{problems:?}");
        assert_eq!(problems.iter().find(|p| p.key == "channels.0.name").unwrap().line, Some(13));
    }

    #[test]
    fn type_errors_never_show_secrets() {
        let raw = GOOD.replace("password = \"hunter2-secret\"", "password = 12345678");
        let problems = parse(&raw).unwrap_err();
        let text = format!("{problems:?}");
        assert!(!text.contains("12345678"), "{text}");
        assert!(problems.iter().any(|p| p.line == Some(10)), "{text}");
    }

    #[test]
    fn missing_password_file_is_a_problem_and_debug_hides_passwords() {
        let raw = GOOD.replace("password = \"hunter2-secret\"", "password_file = \"/nonexistent/pw\"");
        let problems = parse(&raw).unwrap_err();
        assert!(problems.iter().any(|p| p.key == "irc.sasl.password_file"), "{problems:?}");
        let c = parse(GOOD).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn syntax_errors_have_lines() {
        let problems = parse("[irc]\nserver = \n").unwrap_err();
        assert_eq!(problems[0].line, Some(2));
    }

    #[test]
    fn every_bad_value_and_unknown_key_of_a_section_is_reported_by_key_in_words() {
        // The bad port used to hide everything after it in [irc] and name only the section.
        let raw = GOOD
            .replace("nick = \"srebot\"", "port = \"6667\"\nrelname = \"x\"\ntls = 1\nnick = \"srebot\"")
            .replace("[irc.sasl]", "[irc.flood]\nburst = \"four\"\n[irc.sasl]");
        let problems = parse(&raw).unwrap_err();
        let got: Vec<_> = problems.iter().map(|p| (p.key.as_str(), p.line)).collect();
        for want in
            [("irc.port", Some(4)), ("irc.relname", Some(5)), ("irc.tls", Some(6)), ("irc.flood.burst", Some(11))]
        {
            assert!(got.contains(&want), "{want:?} missing from {problems:#?}");
        }
        let port = problems.iter().find(|p| p.key == "irc.port").unwrap();
        assert!(port.message.contains("a port number from 1 to 65535"), "{port}");
        assert!(!problems.iter().any(|p| p.message.contains("u16") || p.message.contains("u32")), "{problems:#?}");
        assert!(!problems.iter().any(|p| p.key == "irc"), "names keys, not the section: {problems:#?}");
    }

    #[test]
    fn bad_enum_value_is_reported() {
        let problems = parse(&GOOD.replace("\"public\"", "\"open\"")).unwrap_err();
        assert!(problems[0].message.contains("public") || problems[0].message.contains("variant"), "{problems:?}");
        assert_eq!(problems[0].line, Some(14));
    }
}

#[cfg(test)]
mod sal_publish_tests {
    use super::super::parse_config as parse;
    use crate::config::*;

    use crate::testing::config_text as base;

    fn keys(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.key.as_str()).collect()
    }

    #[test]
    fn sal_privacy_defaults_and_checks() {
        let c = parse(&base("")).unwrap();
        assert!(c.sal.mask_ips, "masking is on by default");
        assert_eq!((c.sal.undo_minutes, c.sal.internal_networks.len()), (15, 0));
        assert!(c.publish.mediawiki.is_none());
        let bad = parse(&base("[sal]\nundo_minutes = 0\ninternal_networks = [\"10.0.0.0/8\", \"10.64.0.0/1\"]\n"))
            .unwrap_err();
        assert_eq!(keys(&bad), vec!["sal.undo_minutes", "sal.internal_networks.1"]);
        assert!(bad[1].message.contains("host bits"), "{bad:?}");
        let off = parse(&base("[sal]\nmask_ips = false\n")).unwrap();
        assert!(warnings(&off).iter().any(|w| w.contains("mask_ips = false")));
    }

    #[test]
    fn the_status_page_and_report_prefix_are_titles() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "abcdefghijklmnopqrstuvwxyz234567\n").unwrap();
        let with = |keys: &str| {
            let mw = format!(
                "[publish.mediawiki]\napi_url = \"https://wiki.example.org/w/api.php\"\npage = \"Tech:Server admin log\"\n\
                 username = \"Srebot@sal\"\npassword_file = {pw:?}\n{keys}"
            );
            parse(&format!("[irc]\nserver = \"irc.example.org\"\nnick = \"srebot\"\n[[channels]]\nname = \"#sre\"\nrole = \"public\"\n[storage]\ndatabase = \"x\"\n{mw}"))
        };
        let c = with("status_page = \"Tech:Status\"\n").unwrap();
        let mw = c.publish.mediawiki.unwrap();
        assert_eq!((mw.status_page.as_deref(), mw.report_prefix.as_str()), (Some("Tech:Status"), "Tech:Incidents/"));
        for (keys, wrong) in [
            ("status_page = \"Tech:Server_admin_log\"\n", "publish.mediawiki.status_page"),
            ("status_page = \"A|B\"\n", "publish.mediawiki.status_page"),
            ("report_prefix = \"\"\n", "publish.mediawiki.report_prefix"),
        ] {
            let keys_wrong: Vec<String> = with(keys).unwrap_err().into_iter().map(|p| p.key).collect();
            assert_eq!(keys_wrong, [wrong], "{keys}");
        }
    }

    #[test]
    fn mediawiki_section_is_checked_and_its_password_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("bot-password");
        std::fs::write(&pw, "s3cr3tbotpasswordvalue0123456789\n").unwrap();
        let good = format!(
            "[publish.mediawiki]\napi_url = \"https://wiki.example.org/w/api.php\"\npage = \"Tech:Server_admin_log\"\n\
             username = \"Srebot@sal\"\npassword_file = {pw:?}\n"
        );
        let c = parse(&base(&good)).unwrap();
        let mw = c.publish.mediawiki.clone().unwrap();
        assert_eq!((mw.retry_min_seconds, mw.retry_max_seconds, mw.timeout_seconds), (10, 900, 30));
        assert_eq!(mw.resolve_password().unwrap().expose(), "s3cr3tbotpasswordvalue0123456789");
        assert!(mw.publishes(&c, "#SRE") && !mw.publishes(&c, "#sre-security") && !mw.publishes(&c, "#other"));
        assert!(!format!("{mw:?}").contains("s3cr3t"));
        let bad = parse(&base(
            "[publish.mediawiki]\napi_url = \"wiki.example.org\"\npage = \"A|B\"\nusername = \"Srebot\"\n\
             password_file = \"/nonexistent/pw\"\nchannels = [\"#sre-security\", \"#nope\"]\nretry_min_seconds = 0\n\
             timeout_seconds = 0\nunknown = 1\n",
        ))
        .unwrap_err();
        let mut got = keys(&bad);
        got.sort();
        assert_eq!(
            got,
            vec![
                "publish.mediawiki.api_url",
                "publish.mediawiki.channels.0",
                "publish.mediawiki.channels.1",
                "publish.mediawiki.page",
                "publish.mediawiki.password_file",
                "publish.mediawiki.retry_min_seconds",
                "publish.mediawiki.timeout_seconds",
                "publish.mediawiki.unknown",
                "publish.mediawiki.username",
            ]
        );
        assert!(bad.iter().all(|p| p.line.is_some() || p.key.ends_with("password_file")), "{bad:?}");
    }
}
