//! Accounts and messages: who is logged in as whom (WHOX for joiners and for senders we do
//! not know yet, holding their messages until the answer), messages into `Event`s, CTCP.

use super::*;

impl Session {
    /// Notes a joiner to ask WHOX about with the others joining about now.
    pub(super) fn queue_join_whox(&mut self, chan: &str, nick: &str, now: Instant) {
        let case_mapping = self.isupport.case_mapping();
        let i = match self.join_whox.iter().position(|(c, _)| fold_eq(c, chan, case_mapping)) {
            Some(i) => i,
            None => {
                self.join_whox.push((chan.to_string(), Some(Vec::new())));
                self.join_whox.len() - 1
            }
        };
        let slot = &mut self.join_whox[i].1;
        if let Some(nicks) = slot {
            if !nicks.iter().any(|n| fold_eq(n, nick, case_mapping)) {
                nicks.push(nick.to_string());
            }
            if nicks.len() > JOIN_WHOX_NICKS {
                *slot = None;
            }
        }
        self.join_whox_due.get_or_insert(now + JOIN_WHOX_DELAY);
    }

    /// The WHOX queries for the joiners noted since the last ones.
    pub(super) fn ask_about_joiners(&mut self) -> Vec<Action> {
        self.join_whox_due = None;
        let mut out = Vec::new();
        for (chan, nicks) in std::mem::take(&mut self.join_whox) {
            let targets = match nicks {
                Some(nicks) => nicks,
                None => vec![chan],
            };
            for target in targets {
                out.push(Action::Send(whox(&target)));
            }
        }
        out
    }

    /// Lets the messages held for `folded_nick` go on, with the account we learnt.
    pub(super) fn release(&mut self, folded_nick: &str, account: Option<String>) -> Vec<Action> {
        let mut out = Vec::new();
        let mut kept = VecDeque::with_capacity(self.held.len());
        for mut h in self.held.drain(..) {
            if h.folded_nick == folded_nick {
                h.message.sender.account = account.clone();
                out.push(Action::Event(Event::Message(h.message)));
            } else {
                kept.push_back(h);
            }
        }
        self.held = kept;
        out
    }

    pub(super) fn on_whox(&mut self, l: &Line) -> Vec<Action> {
        // 354 me 152 user ip host nick flags account :realname  (fields t,u,i,h,n,f,a,r)
        if l.param(1) != WHOX_TOKEN || l.params.len() < 9 {
            return vec![];
        }
        let (user, host, nick, account) = (l.param(2), l.param(4), l.param(5), l.param(7));
        let folded = self.fold(nick);
        let account = if account == "0" { Account::LoggedOut } else { Account::LoggedIn(account.to_string()) };
        {
            let mut roster = self.roster.lock().unwrap();
            roster.set_host(&folded, user, host);
            roster.set_account(&folded, account.clone());
        }
        match account {
            Account::LoggedIn(a) => self.release(&folded, Some(a)),
            _ => self.release(&folded, None),
        }
    }

    pub(super) fn on_message(&mut self, l: &Line, now: Instant, wall: DateTime<Utc>) -> Vec<Action> {
        let Some(src) = l.source.clone() else { return vec![] };
        if src.user.is_empty() || self.is_me(&src.nick) {
            return vec![]; // a server notice, or our own line echoed back
        }
        let (target, text) = (l.param(0), l.param(1));
        let folded = self.fold(&src.nick);
        let tagged = self.caps.contains("account-tag").then(|| {
            let account = l.tag("account").map(|a| Account::LoggedIn(a.to_string())).unwrap_or(Account::LoggedOut);
            self.roster.lock().unwrap().set_account(&folded, account.clone());
            account
        });
        if let Some(ctcp) = text.strip_prefix('\x01') {
            return self.on_ctcp(&src.nick, l.command == "PRIVMSG", ctcp.trim_end_matches('\x01'), now);
        }
        if l.command != "PRIVMSG" {
            // Never answered; passed on when it is to us, as services' answers are.
            if self.is_me(target) {
                return vec![Action::Event(Event::Notice { from: src.nick, text: text.to_string() })];
            }
            return vec![];
        }
        let channel = if self.is_channel(target) {
            Some(target.to_string())
        } else if self.is_me(target) {
            None
        } else {
            return vec![]; // STATUSMSG (@#chan) and the like: not addressed to us as a channel member
        };
        let known = tagged.or_else(|| {
            self.roster.lock().unwrap().get(&folded).map(|m| m.account.clone()).filter(|a| *a != Account::Unknown)
        });
        let time = l
            .tag("time")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(wall);
        let account = match &known {
            Some(Account::LoggedIn(a)) => Some(a.clone()),
            _ => None,
        };
        let message = Incoming {
            time,
            channel,
            sender: Sender { nick: src.nick.clone(), user: src.user, host: src.host, account },
            text: text.to_string(),
        };
        // Without account-tag, someone who joined a moment ago or writes to us privately is not
        // in the roster with an account yet: ask, and let the message go on with the answer.
        if known.is_none() && self.isupport.whox() && self.held.len() < MAX_HELD {
            self.held.push_back(Held { folded_nick: folded.clone(), since: now, message });
            if self.whox_asked.insert(folded) {
                return vec![Action::Send(whox(&src.nick))];
            }
            return vec![];
        }
        vec![Action::Event(Event::Message(message))]
    }

    pub(super) fn on_ctcp(&mut self, nick: &str, is_privmsg: bool, body: &str, now: Instant) -> Vec<Action> {
        if !is_privmsg || self.last_ctcp.is_some_and(|t| now.duration_since(t) < CTCP_GAP) {
            return vec![];
        }
        let (verb, arg) = body.split_once(' ').unwrap_or((body, ""));
        let answer = match verb.to_ascii_uppercase().as_str() {
            "VERSION" => format!("\x01VERSION {}\x01", self.settings.version),
            "PING" => format!("\x01PING {}\x01", crate::text::truncate_bytes(arg, 64)),
            _ => return vec![],
        };
        self.last_ctcp = Some(now);
        self.render("NOTICE", nick, &answer).into_iter().take(1).map(Action::Send).collect()
    }
}
