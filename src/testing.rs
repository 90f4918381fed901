//! Fixtures shared by the unit tests, tests/, fuzz/ and examples/ (hidden from the docs: not an API).

use crate::config::Config;

/// The smallest configuration the tests start from: the bot `srebot` on 127.0.0.1, a public
/// `#sre` and a security `#sre-security`, and `x.sqlite3`, then `extra` (more tables, more
/// `[[channels]]`). Give a test its own database with `config.storage.database = …`.
pub fn config_text(extra: &str) -> String {
    format!(
        r##"
[irc]
server = "127.0.0.1"
nick = "srebot"
[[channels]]
name = "#sre"
role = "public"
[[channels]]
name = "#sre-security"
role = "security"
[storage]
database = "x.sqlite3"
{extra}
"##
    )
}

/// [`config_text`] parsed and checked like `check-config`; panics with the problems if `extra` does not fit.
pub fn config(extra: &str) -> Config {
    match crate::app::parse_config(&config_text(extra)) {
        Ok(config) => config,
        Err(problems) => panic!("test config: {problems:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_channels_and_sub_tables_may_follow_the_base() {
        let c = config("[irc.sasl]\nmechanism = \"PLAIN\"\naccount = \"srebot\"\npassword = \"pw\"\n[[channels]]\nname = \"#ops\"\nrole = \"public\"\n");
        let names: Vec<&str> = c.channels.iter().map(|ch| ch.name.as_str()).collect();
        assert_eq!(names, ["#sre", "#sre-security", "#ops"]);
        assert!(c.irc.sasl.is_some());
    }
}
