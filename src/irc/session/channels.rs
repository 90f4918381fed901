//! Channels: joining (security channels only after SASL), refusals and their backoff, KICK,
//! PART, QUIT, NICK, modes, NAMES and the topic, and changing the channel list on a reload.

use super::*;

impl Session {
    /// Takes new settings from a reload: parts the channels no longer listed (with `reason`),
    /// joins the new ones now (a security one only after SASL, as at start), keeps the rest.
    /// Only the channel list is read from them; the driver decides what else may change.
    pub fn set_channels(&mut self, settings: Arc<Settings>, reason: &str, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let wanted: Vec<String> =
            settings.channels.iter().map(|t| fold(&t.name, crate::irc::isupport::CaseMapping::Rfc1459)).collect();
        self.channels.retain(|c| {
            let keep = wanted.contains(&c.folded);
            if !keep && c.joined {
                out.push(Action::Send(raw("PART", &[&c.target.name, reason])));
            }
            keep
        });
        for target in &settings.channels {
            let folded = fold(&target.name, crate::irc::isupport::CaseMapping::Rfc1459);
            match self.channels.iter_mut().find(|c| c.folded == folded) {
                Some(c) => c.target = target.clone(),
                None => self.channels.push(Channel::new(target)),
            }
        }
        self.settings = settings;
        if self.ready {
            out.extend(self.joins_due(now));
        }
        out
    }

    pub(super) fn may_join_security(&self) -> bool {
        matches!(self.sasl, SaslState::NotConfigured | SaslState::Succeeded(_))
    }

    pub(super) fn joins_due(&mut self, now: Instant) -> Vec<Action> {
        if self.awaiting_services {
            let waited = self.registered_at.map(|t| now.duration_since(t)).unwrap_or_default();
            if waited < self.settings.sasl_wait {
                return vec![];
            }
            self.awaiting_services = false;
            tracing::warn!(
                waited_s = waited.as_secs(),
                "SASL still not offered (services not linked?): joining public channels unidentified; \
                 security channels wait for a SASL login"
            );
        }
        let may_join_security = self.may_join_security();
        let reason = match &self.sasl {
            SaslState::Failed(why) => why.clone(),
            _ => "SASL not finished".into(),
        };
        let mut out = Vec::new();
        for c in &mut self.channels {
            if c.joined || c.next_try.is_some_and(|t| now < t) {
                continue;
            }
            if c.target.security && !may_join_security {
                if !c.skip_logged {
                    c.skip_logged = true;
                    tracing::error!(channel = %c.target.name, reason = %reason, "not joining a security channel without a SASL login");
                }
                continue;
            }
            c.next_try = Some(now + JOIN_UNANSWERED);
            let key = c.target.key.as_ref().map(|k| k.expose().to_string());
            out.push(Action::Send(line(Command::JOIN(c.target.name.clone(), key, None))));
        }
        out
    }

    pub(super) fn on_join(&mut self, l: &Line, now: Instant) -> Vec<Action> {
        let Some(src) = &l.source else { return vec![] };
        let chan = l.param(0).to_string();
        let folded_chan = self.fold(&chan);
        if self.is_me(&src.nick) {
            self.own_userhost = Some((src.user.clone(), src.host.clone()));
            let mut out = Vec::new();
            if let Some(c) = self.channels.iter_mut().find(|c| c.folded == folded_chan) {
                // Joined is announced at the end of NAMES, once the topic and our modes are known.
                c.joined = true;
                c.failures = 0;
                c.next_try = None;
                c.topic.clear();
                c.opped = false;
                tracing::info!(channel = %c.target.name, "joined");
            }
            let who = if self.isupport.whox() { whox(&chan) } else { raw("WHO", &[&chan]) };
            out.push(Action::Send(who));
            return out;
        }
        // extended-join: JOIN #chan account :realname
        let account = if self.caps.contains("extended-join") {
            Some(match l.param(1) {
                "*" | "" => Account::LoggedOut,
                a => Account::LoggedIn(a.to_string()),
            })
        } else {
            None
        };
        let folded = self.fold(&src.nick);
        if account.is_none() && self.isupport.whox() {
            self.queue_join_whox(&chan, &src.nick, now);
        }
        self.roster.lock().unwrap().join(&folded, &src.nick, &src.user, &src.host, &folded_chan, account);
        vec![]
    }

    pub(super) fn on_leave(&mut self, nick: &str, chan: &str, now: Instant) {
        let folded_chan = self.fold(chan);
        if self.is_me(nick) {
            self.roster.lock().unwrap().forget_channel(&folded_chan);
            let rejoin = self.settings.rejoin;
            if let Some(c) = self.channels.iter_mut().find(|c| c.folded == folded_chan) {
                c.joined = false;
                c.next_try = Some(now + rejoin);
            }
        } else {
            let folded = self.fold(nick);
            self.roster.lock().unwrap().part(&folded, &folded_chan);
        }
    }

    pub(super) fn on_quit(&mut self, l: &Line) -> Vec<Action> {
        let folded = self.fold(l.nick());
        self.roster.lock().unwrap().quit(&folded);
        self.regain_if_freed(l.nick())
    }

    pub(super) fn on_nick(&mut self, l: &Line, now: Instant) -> Vec<Action> {
        let old = l.nick().to_string();
        let new = l.param(0).to_string();
        let (old_f, new_f) = (self.fold(&old), self.fold(&new));
        self.roster.lock().unwrap().rename(&old_f, &new_f, &new);
        if self.is_me(&old) {
            tracing::info!(from = %old, to = %new, "our nick changed");
            self.nick = new;
            if self.is_me(&self.settings.nick.clone()) {
                self.next_regain = None;
            } else if self.next_regain.is_none() {
                // Renamed away from our nick (services enforcing, a collision): win it back.
                self.next_regain = Some(now + self.settings.nick_regain);
            }
            return vec![];
        }
        self.regain_if_freed(&old)
    }

    /// Follows `MODE #chan +o-v nick other` for changes to our own operator status.
    pub(super) fn on_mode(&mut self, l: &Line) -> Vec<Action> {
        let target = l.param(0);
        if !self.is_channel(target) {
            return vec![];
        }
        let (prefix_modes, _) = self.isupport.prefix();
        let [list, always, when_set, _] = self.isupport.chan_modes();
        let mut args = l.params.iter().skip(2);
        let mut adding = true;
        let mut opped = None;
        for m in l.param(1).chars() {
            match m {
                '+' => adding = true,
                '-' => adding = false,
                m if prefix_modes.contains(m) => {
                    let who = args.next().map(String::as_str).unwrap_or("");
                    if "qao".contains(m) && self.is_me(who) {
                        opped = Some(adding);
                    }
                }
                m if list.contains(m) || always.contains(m) || (adding && when_set.contains(m)) => {
                    args.next();
                }
                _ => {}
            }
        }
        let Some(opped) = opped else { return vec![] };
        match self.channel_mut(target) {
            Some(c) if c.opped != opped => {
                c.opped = opped;
                vec![Action::Event(Event::Opped { channel: c.target.name.clone(), opped })]
            }
            _ => vec![],
        }
    }

    pub(super) fn on_names(&mut self, l: &Line) {
        // 353 me <type> #chan :[prefixes]nick[!user@host] ...
        let chan = self.fold(l.param(2));
        let (_, symbols) = self.isupport.prefix();
        let names = l.params.last().cloned().unwrap_or_default();
        let roster_handle = self.roster.clone();
        let mut roster = roster_handle.lock().unwrap();
        for original in names.split_whitespace() {
            let entry = original.trim_start_matches(|c| symbols.contains(c));
            let (nick, userhost) = entry.split_once('!').unwrap_or((entry, ""));
            let (user, host) = userhost.split_once('@').unwrap_or(("", ""));
            if self.is_me(nick) {
                let opped = original.starts_with(['~', '&', '@']);
                drop(roster);
                if let Some(c) = self.channels.iter_mut().find(|c| c.folded == chan) {
                    c.opped = opped;
                }
                roster = roster_handle.lock().unwrap();
                continue;
            }
            if nick.is_empty() {
                continue;
            }
            roster.join(&self.fold(nick), nick, user, host, &chan, None);
        }
    }
}
