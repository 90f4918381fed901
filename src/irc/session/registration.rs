//! Registration: nick and its collisions, CAP negotiation, SASL (which mechanism, in what
//! order, waiting for services), STS offers, and becoming ready to join.

use super::*;

impl Session {
    pub(super) fn next_nick(&mut self) -> String {
        let s = &self.settings;
        let i = self.nick_tries;
        self.nick_tries += 1;
        match s.alt_nicks.get(i) {
            Some(n) => n.clone(),
            None => {
                let base: String = s.nick.chars().take(12).collect();
                format!("{base}{}", fastrand::u16(100..10000))
            }
        }
    }

    pub(super) fn cap_end(&mut self) -> Vec<Action> {
        if self.cap_end_sent {
            return vec![];
        }
        self.cap_end_sent = true;
        vec![Action::Send(line(Command::CAP(None, CapSubCommand::END, None, None)))]
    }

    pub(super) fn sasl_failed(&mut self, why: String) {
        tracing::error!(reason = %why, "SASL failed: security channels will not be joined");
        self.sasl = SaslState::Failed(why);
        self.awaiting_services = false;
    }

    /// SASL failed: give up on it for this connection, or, when it was a login after
    /// registration (services came back), reconnect once to log in before registering.
    pub(super) fn sasl_failed_or_reconnect(&mut self, why: String) -> Vec<Action> {
        if std::mem::take(&mut self.relogin) {
            tracing::warn!(reason = %why, "SASL after registration refused: reconnecting to log in while registering");
            return vec![Action::Disconnect(format!("reconnecting to log in with SASL ({why})"))];
        }
        self.sasl_failed(why);
        self.cap_end()
    }

    /// The answer to our `CAP LS` after registration (SASL was not offered): request it now if
    /// it is, and log in.
    pub(super) fn on_relisted(&mut self) -> Vec<Action> {
        if self.sasl_recheck.is_none() || !self.caps_offered.iter().any(|c| c == "sasl") {
            return vec![];
        }
        self.sasl_recheck = None;
        self.sasl_candidates = self.mechanisms_offered(self.cap_value("sasl"));
        if self.sasl_candidates.is_empty() {
            let offered = self.cap_value("sasl").unwrap_or("?").to_string();
            self.sasl_failed(format!("the server now offers SASL {offered}, none of ours"));
            return vec![];
        }
        tracing::info!("SASL is offered now (services linked): logging in");
        self.sasl_mechs = None;
        self.relogin = true;
        vec![Action::Send(line(Command::CAP(None, CapSubCommand::REQ, None, Some("sasl".into()))))]
    }

    /// Our mechanisms, in our order, that the server's `sasl=` value lists (all of them when
    /// it gives no list: CAP 301, or a server that does not say).
    pub(super) fn mechanisms_offered(&self, value: Option<&str>) -> VecDeque<Mechanism> {
        let Some(login) = &self.settings.sasl else { return VecDeque::new() };
        login
            .mechanisms
            .iter()
            .copied()
            .filter(|m| value.is_none_or(|v| v.split(',').any(|o| o.eq_ignore_ascii_case(m.name()))))
            .collect()
    }

    pub(super) fn cap_value(&self, name: &str) -> Option<&str> {
        self.cap_values.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// `AUTHENTICATE <mechanism>`, starting its exchange.
    pub(super) fn authenticate_with(&mut self, mechanism: Mechanism) -> Vec<Action> {
        let Some(login) = &self.settings.sasl else { return vec![] };
        let nonce = if mechanism == Mechanism::ScramSha256 { fresh_nonce() } else { String::new() };
        self.sasl_exchange = Some((mechanism, Exchange::start(mechanism, &login.credentials, &nonce)));
        self.sasl_received.clear();
        self.sasl = SaslState::Authenticating;
        vec![Action::Send(line(Command::AUTHENTICATE(mechanism.name().into())))]
    }

    /// Reads an STS value (`port=6697,duration=2592000,…`) as `(port, duration)`.
    pub(super) fn sts_offer(&self) -> Option<(Option<u16>, Option<Duration>)> {
        let value = self.cap_value("sts")?;
        let key = |k: &str| value.split(',').find_map(|kv| kv.strip_prefix(k).and_then(|v| v.strip_prefix('=')));
        Some((
            key("port").and_then(|p| p.parse().ok()),
            key("duration").and_then(|d| d.parse().ok()).map(Duration::from_secs),
        ))
    }

    pub(super) fn on_cap(&mut self, l: &Line) -> Vec<Action> {
        // CAP <nick|*> <subcommand> [*] :<caps>
        let sub = l.param(1).to_ascii_uppercase();
        let more = l.params.len() > 3 && l.param(2) == "*";
        let list = l.params.last().map(String::as_str).unwrap_or("");
        match sub.as_str() {
            "LS" => {
                self.caps_offered.extend(list.split_whitespace().map(|c| c.split('=').next().unwrap_or(c).to_string()));
                self.cap_values.extend(
                    list.split_whitespace()
                        .filter_map(|c| c.split_once('='))
                        .map(|(n, v)| (n.to_string(), v.to_string())),
                );
                if more {
                    return vec![];
                }
                if self.registered {
                    return self.on_relisted();
                }
                let mut out = Vec::new();
                if let Some((port, duration)) = self.sts_offer() {
                    match (self.tls, port) {
                        // Plaintext offered STS: nothing more on this connection, not even CAP END.
                        (false, Some(port)) => {
                            tracing::info!(port, "the server asks for TLS (STS): reconnecting with TLS");
                            return vec![Action::UpgradeToTls { port }];
                        }
                        (true, _) => {
                            if let Some(duration) = duration {
                                out.push(Action::StsPolicy { duration });
                            }
                        }
                        (false, None) => {}
                    }
                }
                let sasl_offered = self.caps_offered.iter().any(|o| o == "sasl");
                if self.settings.sasl.is_some() {
                    self.sasl_candidates = self.mechanisms_offered(self.cap_value("sasl"));
                    if !sasl_offered {
                        self.sasl_failed("the server does not offer SASL (are services linked?)".into());
                        self.awaiting_services = true;
                        self.sasl_recheck = Some(self.started + SASL_RECHECK);
                    } else if !self.sasl_candidates.is_empty() {
                        let order: Vec<&str> = self.sasl_candidates.iter().map(|m| m.name()).collect();
                        tracing::info!(offered = self.cap_value("sasl").unwrap_or("(no list)"), trying = %order.join(","), "SASL");
                    } else {
                        let ours: Vec<&str> =
                            self.settings.sasl.iter().flat_map(|l| &l.mechanisms).map(|m| m.name()).collect();
                        self.sasl_failed(format!(
                            "the server offers SASL {}, none of ours ({})",
                            self.cap_value("sasl").unwrap_or("?"),
                            ours.join(", ")
                        ));
                    }
                }
                let want: Vec<&str> = WANTED_CAPS
                    .iter()
                    .copied()
                    .filter(|w| self.caps_offered.iter().any(|o| o == w))
                    // sasl is requested even with none of our mechanisms on offer (the ACK then
                    // gets CAP END, no AUTHENTICATE), as conformance suites expect.
                    .filter(|w| *w != "sasl" || self.settings.sasl.is_some())
                    .collect();
                if want.is_empty() {
                    out.extend(self.cap_end());
                    return out;
                }
                out.push(Action::Send(line(Command::CAP(None, CapSubCommand::REQ, None, Some(want.join(" "))))));
                out
            }
            "ACK" => {
                for c in list.split_whitespace() {
                    match c.strip_prefix('-') {
                        Some(removed) => {
                            self.caps.remove(removed);
                        }
                        None => {
                            self.caps.insert(c.to_string());
                        }
                    }
                }
                let sasl_acked = list.split_whitespace().any(|c| c == "sasl");
                match self.sasl_candidates.pop_front() {
                    Some(first) if sasl_acked => self.authenticate_with(first),
                    _ if !self.registered => self.cap_end(),
                    _ => vec![],
                }
            }
            "NAK" => {
                if list.split_whitespace().any(|c| c == "sasl") {
                    self.sasl_failed("the server refused the sasl capability".into());
                }
                if self.registered {
                    vec![]
                } else {
                    self.cap_end()
                }
            }
            // cap-notify: services linked later and now offer SASL.
            "NEW" => {
                let offered: Vec<&str> = list.split_whitespace().map(|c| c.split('=').next().unwrap_or(c)).collect();
                let sasl_value = list.split_whitespace().find_map(|c| c.strip_prefix("sasl="));
                let mut retry_sasl = matches!(self.sasl, SaslState::Failed(_)) && offered.contains(&"sasl");
                if retry_sasl {
                    self.sasl_recheck = None;
                    self.sasl_candidates = self.mechanisms_offered(sasl_value);
                    self.sasl_mechs = None;
                    retry_sasl = !self.sasl_candidates.is_empty();
                }
                let want: Vec<&str> = WANTED_CAPS
                    .iter()
                    .copied()
                    .filter(|w| offered.contains(w) && !self.caps.contains(*w))
                    .filter(|w| *w != "sasl" || retry_sasl)
                    .collect();
                if want.is_empty() {
                    return vec![];
                }
                if !self.registered {
                    // A CAP REQ before registration completes suspends it until the next CAP END.
                    self.cap_end_sent = false;
                }
                vec![Action::Send(line(Command::CAP(None, CapSubCommand::REQ, None, Some(want.join(" ")))))]
            }
            "DEL" => {
                for c in list.split_whitespace() {
                    self.caps.remove(c);
                }
                vec![]
            }
            _ => vec![],
        }
    }

    pub(super) fn on_authenticate(&mut self, l: &Line) -> Vec<Action> {
        if self.sasl != SaslState::Authenticating || self.sasl_aborted.is_some() {
            return vec![];
        }
        let Some((mechanism, exchange)) = &mut self.sasl_exchange else { return vec![] };
        let piece = l.param(0);
        if piece != "+" {
            self.sasl_received.push_str(piece);
            if piece.len() == SASL_CHUNK {
                return vec![]; // more pieces follow (or a lone `+`)
            }
        }
        let encoded = std::mem::take(&mut self.sasl_received);
        let reply = base64::engine::general_purpose::STANDARD
            .decode(&encoded)
            .map_err(|_| format!("the server's {mechanism} challenge is not base64"))
            .and_then(|challenge| exchange.respond(&challenge));
        match reply {
            Ok(response) if response.is_empty() => vec![Action::Send(line(Command::AUTHENTICATE("+".into())))],
            Ok(response) => sasl_chunks(&base64::engine::general_purpose::STANDARD.encode(response))
                .into_iter()
                .map(|c| Action::Send(line(Command::AUTHENTICATE(c))))
                .collect(),
            Err(why) => {
                tracing::error!(mechanism = mechanism.name(), reason = %why, "aborting SASL");
                self.sasl_aborted = Some(why);
                vec![Action::Send(line(Command::AUTHENTICATE("*".into())))]
            }
        }
    }

    pub(super) fn become_ready(&mut self, now: Instant) -> Vec<Action> {
        self.ready = true;
        let mut out = Vec::new();
        if let Some(mode) = self.isupport.bot_mode() {
            out.push(Action::Send(raw("MODE", &[&self.nick, &format!("+{mode}")])));
        }
        out.push(Action::Event(Event::Ready { nick: self.nick.clone() }));
        out.extend(self.joins_due(now));
        out
    }

    pub(super) fn regain_if_freed(&mut self, freed: &str) -> Vec<Action> {
        let main = self.settings.nick.clone();
        if self.registered && !self.is_me(&main) && self.fold(freed) == self.fold(&main) {
            return vec![Action::Send(line(Command::NICK(main)))];
        }
        vec![]
    }
}
