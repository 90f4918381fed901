//! The async side of the session: socket, outgoing queue with flood control, timers, reconnects.
//!
//! One task owns the connection. It feeds incoming lines to the [`Session`] state machine and
//! writes what that returns; replies from the bot wait in a queue and leave through a token
//! bucket (by default a burst of 4, then one line per 1.5 s), so the bot is never killed for
//! "Excess Flood". When the link dies (EOF, ERROR, ping timeout) the task reconnects with
//! exponential backoff and jitter; the queue and the bot survive the reconnect.
//!
//! A reply is rendered only when flood control lets it go, and which goes next is decided by
//! `outqueue`: acks and short answers first, then bulk output, a fair share per target. When
//! several acknowledgements ([`Outgoing::Ack`]) for one channel are waiting and the bucket
//! cannot send them all now, they leave as one line (worded by the [`AckLine`] the driver was
//! given) instead of falling minutes behind; an ack that can go at once is never held back.
//!
//! The driver never waits for the bot. When the bot is saturated (commands stuck behind a slow
//! database), events wait in a bounded buffer here while the socket is still read, so PING is
//! answered and the link survives; past the bound, messages are skipped and their senders told.

use super::line;
use super::outqueue::{Next, Replies};
use super::roster::Roster;
use super::session::{redact, Action, Session, Settings};
use super::sts::{StsPolicies, StsPolicy};
use super::transport::{self, Tls};
use super::{AckLine, Client, Event, Outgoing, Status};
use crate::config::FloodConfig;
use chrono::Utc;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::{sleep, timeout, Instant};

/// Lines read (or replies taken) in one go before the driver looks at its other duties: enough
/// to batch a burst into few writes and flushes, few enough to stay responsive.
const BATCH: usize = 256;

/// How long a shutdown waits for queued replies before it sends QUIT anyway.
const QUIT_DRAIN: Duration = Duration::from_secs(5);

/// Room for events in the channel to the bot.
const EVENT_CHANNEL: usize = 4096;

/// Events waiting here for the bot, beyond the channel's own room, at most (a few MB at worst).
/// The socket is read meanwhile (PING answered); beyond this, messages are skipped and their
/// senders told. Big enough that a burst of 10,000 `!log`s sent at once is only delayed.
const MAX_PENDING_EVENTS: usize = 16_384;

/// Senders told about a skipped message, at most, per stretch of overload.
const MAX_TOLD: usize = 1000;

/// What someone whose message was skipped hears (once per stretch of overload).
const OVERLOAD_NOTICE: &str =
    "Sorry: I am overloaded (the database is slow) and skipped your message. If it was a command, send it again in a few minutes.";

/// A link that stayed registered this long was a good one: the next reconnect starts over from
/// the shortest delay. Shorter ones (a K-line, "Excess Flood" right after 001) count as failures.
const STABLE_LINK: Duration = Duration::from_secs(60);

/// Where and how to connect.
#[derive(Clone)]
pub struct Connector {
    pub server: String,
    pub port: u16,
    pub tls: Option<Tls>,
    pub connect_timeout: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    pub flood: FloodConfig,
    /// With `tls` off: the TLS settings for an STS upgrade (a server offering `sts` in plaintext).
    pub sts_tls: Option<Tls>,
    /// The STS policy known for `server` when we start (kept by the application across restarts).
    pub sts_policy: Option<StsPolicy>,
    /// Where policy changes go; `None` keeps them in memory only.
    pub sts_store: Option<Arc<dyn StsPolicies>>,
    /// The words for acknowledgements, alone or merged: the driver does not know them.
    pub ack_line: AckLine,
}

/// New settings from a reload, applied without reconnecting (see [`Client::reconfigure`]).
pub struct Reconfigure {
    pub channels: Vec<super::session::JoinTarget>,
    pub flood: FloodConfig,
}

/// Why the bot parts a channel that a reload removed from the config.
const PART_REASON: &str = "removed from srebot's config";

/// Starts the connection task.
pub fn spawn(settings: Settings, connector: Connector) -> (Client, mpsc::Receiver<Event>, tokio::task::JoinHandle<()>) {
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::channel(EVENT_CHANNEL);
    let roster = Arc::new(Mutex::new(Roster::default()));
    let status = Arc::new(Mutex::new(Status { nick: settings.nick.clone(), ..Status::default() }));
    let client = Client { out: out_tx, control: control_tx, roster: roster.clone(), status: status.clone() };
    let driver = Driver {
        sts_policy: connector.sts_policy,
        sts_upgrade: None,
        upgrading: false,
        link_port: connector.port,
        settings: Arc::new(settings),
        bucket: Bucket::new(&connector.flood),
        connector,
        roster,
        status,
        events: ev_tx,
        out_rx,
        control_rx,
        queue: Queue::default(),
        stopping: false,
        held_since: None,
        pending: VecDeque::new(),
        skipped: 0,
        told: HashSet::new(),
    };
    let handle = tokio::spawn(driver.run());
    (client, ev_rx, handle)
}

/// Token bucket for outgoing lines.
struct Bucket {
    tokens: f64,
    burst: f64,
    interval: Duration,
    last: Instant,
}

impl Bucket {
    fn new(flood: &FloodConfig) -> Bucket {
        Bucket {
            tokens: flood.burst as f64,
            burst: flood.burst as f64,
            interval: Duration::from_millis(flood.interval_ms),
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        if self.interval.is_zero() {
            self.tokens = self.burst;
        } else {
            let gained = now.duration_since(self.last).as_secs_f64() / self.interval.as_secs_f64();
            self.tokens = (self.tokens + gained).min(self.burst);
        }
        self.last = now;
    }

    /// Takes a token, or says how long until one is there.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.interval.mul_f64(1.0 - self.tokens))
        }
    }

    /// How many lines may go now (unbounded without an interval), or how long until one may.
    fn room(&mut self, now: Instant) -> Result<f64, Duration> {
        if self.interval.is_zero() {
            return Ok(f64::INFINITY);
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            Ok(self.tokens)
        } else {
            Err(self.interval.mul_f64(1.0 - self.tokens))
        }
    }

    /// Accounts for a line that could not wait (PONG, QUIT).
    fn spend(&mut self, now: Instant) {
        self.refill(now);
        self.tokens = (self.tokens - 1.0).max(-self.burst);
    }
}

#[derive(Default)]
struct Queue {
    /// PONG and QUIT: out at once.
    urgent: VecDeque<String>,
    /// Protocol lines (CAP, JOIN, WHO, NICK…): ahead of replies.
    protocol: VecDeque<String>,
    /// Replies from the bot, rendered when they are next (see `outqueue`).
    replies: Replies,
    /// The remaining pieces of a reply that was split.
    rendered: VecDeque<String>,
}

impl Queue {
    fn depth(&self) -> usize {
        self.protocol.len() + self.replies.depth() + self.rendered.len()
    }
}

struct Driver {
    settings: Arc<Settings>,
    connector: Connector,
    bucket: Bucket,
    roster: Arc<Mutex<Roster>>,
    status: Arc<Mutex<Status>>,
    events: mpsc::Sender<Event>,
    out_rx: mpsc::UnboundedReceiver<Outgoing>,
    control_rx: mpsc::UnboundedReceiver<Reconfigure>,
    queue: Queue,
    stopping: bool,
    /// Since when flood control has been holding lines back (for the metric).
    held_since: Option<Instant>,
    /// Events the bot had no room for yet, oldest first (at most `MAX_PENDING_EVENTS`).
    pending: VecDeque<Event>,
    /// Messages skipped in this stretch of overload, and the (folded) nicks told about it.
    skipped: u64,
    told: HashSet<String>,
    /// The STS policy in force for the server, if any: never plaintext while it holds.
    sts_policy: Option<StsPolicy>,
    /// The TLS port a plaintext connection's STS offer named (kept: no going back to plaintext).
    sts_upgrade: Option<u16>,
    /// The link was dropped to upgrade it: reconnect at once, without backoff.
    upgrading: bool,
    /// The port of the current (or last) connection.
    link_port: u16,
}

enum End {
    /// We were asked to stop and did.
    Stopped,
    /// The link is gone; `registered_for` says how long it had been registered, if it got that
    /// far (a long enough one resets the backoff).
    Lost { reason: String, registered_for: Option<Duration> },
}

fn lost(reason: String, session: &Session) -> End {
    End::Lost { reason, registered_for: session.registered_at().map(|t| t.elapsed()) }
}

impl Driver {
    async fn run(mut self) {
        let mut failures: u32 = 0;
        loop {
            let (port, tls) = self.target();
            self.link_port = port;
            let c = &self.connector;
            tracing::info!(server = %c.server, port, tls = tls.is_some(), "connecting");
            let end = match timeout(c.connect_timeout, transport::connect(&c.server, port, tls.as_ref())).await {
                Err(_) => End::Lost { reason: "connect timed out".into(), registered_for: None },
                Ok(Err(e)) => End::Lost { reason: format!("connect failed: {e}"), registered_for: None },
                Ok(Ok(stream)) => self.serve(stream, tls.is_some()).await,
            };
            {
                let mut st = self.status.lock().unwrap();
                st.connected = false;
                st.ready = false;
                st.joined.clear();
            }
            match end {
                End::Stopped => return,
                End::Lost { reason, registered_for } => {
                    if self.stopping {
                        return;
                    }
                    if std::mem::take(&mut self.upgrading) {
                        continue;
                    }
                    failures = next_attempt(failures, registered_for);
                    let delay = backoff(self.connector.reconnect_min, self.connector.reconnect_max, failures);
                    tracing::warn!(%reason, retry_in_ms = delay.as_millis() as u64, "disconnected");
                    self.status.lock().unwrap().reconnects += 1;
                    self.hand_on(Event::Disconnected { reason });
                    if self.wait_offline(delay).await {
                        return;
                    }
                }
            }
        }
    }

    /// Where to connect: as configured, except that a plaintext config goes to the TLS port of
    /// an STS policy in force (or of this run's STS offer) with TLS.
    fn target(&mut self) -> (u16, Option<Tls>) {
        let c = &self.connector;
        if c.tls.is_some() {
            return (c.port, c.tls.clone());
        }
        if self.sts_policy.is_some_and(|p| !p.in_force(Utc::now())) {
            tracing::info!("the STS policy expired");
            self.sts_policy = None;
        }
        match (self.sts_policy.map(|p| p.port).or(self.sts_upgrade), &c.sts_tls) {
            (Some(port), Some(tls)) => (port, Some(tls.clone())),
            _ => (c.port, None),
        }
    }

    /// A TLS connection's STS policy: kept (in memory and through `sts_store`) or, for a zero
    /// duration, forgotten.
    fn record_sts(&mut self, duration: Duration) {
        let policy = StsPolicy::offered(self.link_port, duration, Utc::now());
        if policy.is_some() != self.sts_policy.is_some() {
            match &policy {
                Some(p) => tracing::info!(port = p.port, expires = %p.expires, "STS policy: TLS only with this server"),
                None => tracing::info!("STS policy removed by the server"),
            }
        }
        if policy.is_none() {
            self.sts_upgrade = None;
        }
        self.sts_policy = policy;
        if let Some(store) = &self.connector.sts_store {
            store.remember(&self.connector.server, policy);
        }
    }

    /// Sleeps before a reconnect while still taking replies; true when asked to stop.
    async fn wait_offline(&mut self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return false,
                msg = self.out_rx.recv() => match msg {
                    None | Some(Outgoing::Quit { .. }) => { self.stopping = true; return true }
                    Some(m) => self.enqueue(m),
                },
                permit = self.events.clone().reserve_owned(), if !self.pending.is_empty() => self.pass_pending(permit),
                Some(change) = self.control_rx.recv() => { self.reconfigure(change, None); }
            }
        }
    }

    /// Takes a reload's settings: the next connection uses them, and `session` (when connected)
    /// joins and parts at once; the flood control's pace changes now.
    fn reconfigure(&mut self, change: Reconfigure, session: Option<&mut Session>) -> Vec<Action> {
        let (old, new) = (&self.connector.flood, &change.flood);
        if (old.burst, old.interval_ms) != (new.burst, new.interval_ms) {
            self.bucket = Bucket::new(new);
            self.connector.flood = change.flood;
        }
        self.settings = Arc::new(Settings { channels: change.channels, ..(*self.settings).clone() });
        match session {
            Some(session) => session.set_channels(self.settings.clone(), PART_REASON, std::time::Instant::now()),
            None => Vec::new(),
        }
    }

    /// Gives an event to the bot, or keeps it until the bot has room: never waits, so the
    /// socket is read (and PING answered) however far behind the bot is.
    fn hand_on(&mut self, event: Event) {
        let event = if self.pending.is_empty() {
            match self.events.try_send(event) {
                Ok(()) | Err(TrySendError::Closed(_)) => return,
                Err(TrySendError::Full(event)) => event,
            }
        } else {
            event
        };
        if self.pending.len() < MAX_PENDING_EVENTS {
            if self.pending.is_empty() {
                tracing::debug!("the bot is busy; events wait in the driver");
            }
            self.pending.push_back(event);
            return;
        }
        self.skipped += 1;
        if self.skipped == 1 {
            tracing::error!(
                waiting = self.pending.len(),
                "the bot is saturated and the buffer full; skipping messages"
            );
        }
        if let Event::Message(m) = event {
            let folded = super::isupport::fold(&m.sender.nick, super::isupport::CaseMapping::Rfc1459);
            if self.told.len() < MAX_TOLD && self.told.insert(folded) {
                self.enqueue(Outgoing::Notice { target: m.sender.nick, text: OVERLOAD_NOTICE.into() });
            }
        }
    }

    /// The bot has room again: the oldest waiting event, then as many more as fit.
    fn pass_pending(&mut self, permit: Result<mpsc::OwnedPermit<Event>, mpsc::error::SendError<()>>) {
        let Ok(permit) = permit else {
            self.pending.clear(); // the bot is gone
            return;
        };
        let Some(first) = self.pending.pop_front() else { return };
        permit.send(first);
        while let Some(event) = self.pending.pop_front() {
            match self.events.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(event)) => {
                    self.pending.push_front(event);
                    break;
                }
                Err(TrySendError::Closed(_)) => self.pending.clear(),
            }
        }
        if self.pending.is_empty() {
            if self.skipped > 0 {
                tracing::warn!(skipped = self.skipped, told = self.told.len(), "the bot caught up");
            } else {
                tracing::debug!("the bot caught up");
            }
            self.skipped = 0;
            self.told.clear();
        }
    }

    fn enqueue(&mut self, msg: Outgoing) {
        let roster = self.roster.clone();
        self.queue.replies.push(msg, |target| reachable(&roster, target));
    }

    async fn serve(&mut self, stream: Box<dyn transport::Stream>, tls: bool) -> End {
        let (rd, wr) = tokio::io::split(stream);
        let mut rd = BufReader::with_capacity(64 * 1024, rd);
        let mut wr = BufWriter::with_capacity(64 * 1024, wr);
        let mut session = Session::new(self.settings.clone(), self.roster.clone(), std::time::Instant::now());
        session.set_tls(tls);
        self.queue.protocol.clear();
        self.queue.urgent.clear();
        self.status.lock().unwrap().connected = true;
        let start = session.start();
        if let Err(reason) = self.apply(start) {
            return lost(reason, &session);
        }
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut buf = Vec::with_capacity(1024);
        let mut quit_by: Option<(Instant, String)> = None;
        loop {
            let wait = match self.write_allowed(&session, &mut wr).await {
                Ok(w) => w,
                Err(e) => return lost(format!("write failed: {e}"), &session),
            };
            if let Some((deadline, message)) = &quit_by {
                let drained = self.queue.replies.is_empty() && self.queue.rendered.is_empty();
                if drained || !session.is_ready() || Instant::now() >= *deadline {
                    self.say_goodbye(&mut rd, &mut wr, message).await;
                    return End::Stopped;
                }
            }
            self.update_status(&session);
            tokio::select! {
                read = rd.read_until(b'\n', &mut buf) => match read {
                    Ok(0) => return lost("the server closed the connection".into(), &session),
                    Err(e) => return lost(format!("read failed: {e}"), &session),
                    Ok(_) => {
                        // Under a burst the buffer holds many whole lines: take them all (up to
                        // BATCH) before writing, so replies go out in few writes.
                        let mut taken = 0;
                        loop {
                            if let Err(reason) = self.on_raw(&mut session, &buf) {
                                return lost(reason, &session);
                            }
                            buf.clear();
                            taken += 1;
                            if taken >= BATCH || !rd.buffer().contains(&b'\n') {
                                break;
                            }
                            // A whole line is buffered: this read completes without waiting.
                            if let Err(e) = rd.read_until(b'\n', &mut buf).await {
                                return lost(format!("read failed: {e}"), &session);
                            }
                        }
                    }
                },
                msg = self.out_rx.recv(), if quit_by.is_none() => {
                    let (replies, stop) = take_waiting(msg, &mut self.out_rx, BATCH);
                    for m in replies {
                        self.enqueue(m);
                    }
                    match stop {
                        Some(Stop::Quit(message)) => { self.stopping = true; quit_by = Some((Instant::now() + QUIT_DRAIN, message)) }
                        Some(Stop::Closed) => { self.stopping = true; quit_by = Some((Instant::now(), "shutting down".into())) }
                        None => {}
                    }
                },
                _ = sleep(wait.unwrap_or(Duration::ZERO)), if wait.is_some() => {}
                permit = self.events.clone().reserve_owned(), if !self.pending.is_empty() => self.pass_pending(permit),
                Some(change) = self.control_rx.recv() => {
                    let actions = self.reconfigure(change, Some(&mut session));
                    if let Err(reason) = self.apply(actions) {
                        return lost(reason, &session);
                    }
                }
                _ = tick.tick() => {
                    let actions = session.on_tick(std::time::Instant::now());
                    if let Err(reason) = self.apply(actions) {
                        return lost(reason, &session);
                    }
                }
            }
        }
    }

    /// Parses one raw line and hands it to the session.
    fn on_raw(&mut self, session: &mut Session, raw: &[u8]) -> Result<(), String> {
        let raw = String::from_utf8_lossy(raw);
        self.status.lock().unwrap().lines_in += 1;
        let parsed = line::parse(&raw);
        if tracing::enabled!(tracing::Level::TRACE) {
            let shown = match &parsed {
                Some(l) if carries_channel_key(l) => "<a channel mode change with its key redacted>".into(),
                _ => raw.trim_end().to_string(),
            };
            tracing::trace!(line = %shown, "<<");
        }
        match parsed {
            Some(l) => self.apply(session.on_line(&l, std::time::Instant::now(), Utc::now())),
            None => Ok(()),
        }
    }

    /// Carries out the session's actions; `Err` when it asks to disconnect.
    fn apply(&mut self, actions: Vec<Action>) -> Result<(), String> {
        for a in actions {
            match a {
                Action::Send(l) => self.queue.protocol.push_back(l),
                Action::SendUrgent(l) => self.queue.urgent.push_back(l),
                Action::Event(e) => self.hand_on(e),
                Action::Disconnect(reason) => return Err(reason),
                Action::UpgradeToTls { port } if self.connector.sts_tls.is_some() => {
                    self.sts_upgrade = Some(port);
                    self.upgrading = true;
                    return Err(format!("STS: reconnecting with TLS to port {port}"));
                }
                Action::UpgradeToTls { port } => {
                    return Err(format!("STS offered (TLS port {port}) but no TLS settings to upgrade with"))
                }
                Action::StsPolicy { duration } => self.record_sts(duration),
            }
        }
        Ok(())
    }

    /// Writes every line flood control allows now; returns how long until the next may go.
    async fn write_allowed<W: tokio::io::AsyncWrite + Unpin>(
        &mut self,
        session: &Session,
        wr: &mut W,
    ) -> std::io::Result<Option<Duration>> {
        let mut wrote = 0u64;
        let mut wait = None;
        let now = Instant::now();
        while let Some(l) = self.queue.urgent.pop_front() {
            self.bucket.spend(now);
            write_line(wr, &l).await?;
            wrote += 1;
        }
        loop {
            let next = if let Some(l) = self.queue.protocol.front() {
                Some(l.clone())
            } else if !session.is_ready() {
                None
            } else if let Some(l) = self.queue.rendered.front() {
                Some(l.clone())
            } else if !self.queue.replies.is_empty() {
                // A reply is rendered only when it can go, so that acks arriving while it waits
                // can still be merged into it.
                let room = match self.bucket.room(now) {
                    Ok(room) => room,
                    Err(w) => {
                        wait = Some(w);
                        break;
                    }
                };
                // Our real prefix may not be known yet: assume the longest, so a merged ack
                // never splits.
                let prefix = super::split::assumed_prefix(session.nick(), &self.settings.username);
                let ack_line = self.connector.ack_line;
                let mut merge = |target: &str, acks: &[super::Ack]| {
                    ack_line(acks, super::split::text_budget(&prefix, "PRIVMSG", target))
                };
                let roster = &self.roster;
                match self.queue.replies.next(room, |target| reachable(roster, target), &mut merge) {
                    Some(Next::Say { command, target, text }) => {
                        self.queue.rendered.extend(session.render(command, &target, &text))
                    }
                    Some(Next::Topic { channel, text }) => {
                        self.queue.rendered.push_back(session.render_topic(&channel, &text))
                    }
                    None => break,
                }
                continue;
            } else {
                None
            };
            let Some(l) = next else { break };
            // Before registration the server expects the handshake at once; flood control
            // applies from then on.
            if session.is_registered() {
                if let Err(w) = self.bucket.take(now) {
                    wait = Some(w);
                    break;
                }
            }
            if self.queue.protocol.pop_front().is_none() {
                self.queue.rendered.pop_front();
            }
            write_line(wr, &l).await?;
            wrote += 1;
        }
        if wrote > 0 {
            wr.flush().await?;
            self.status.lock().unwrap().lines_out += wrote;
        }
        // One delay per stretch of time flood control held lines back, with its length.
        match (wait, self.held_since) {
            (Some(_), None) => self.held_since = Some(now),
            (None, Some(since)) => {
                crate::metrics::METRICS.flood_delay(now.duration_since(since));
                self.held_since = None;
            }
            _ => {}
        }
        Ok(wait)
    }

    async fn say_goodbye<R, W>(&mut self, rd: &mut R, wr: &mut W, message: &str)
    where
        R: tokio::io::AsyncRead + Unpin,
        W: tokio::io::AsyncWrite + Unpin,
    {
        let quit = String::from(&irc::proto::Command::QUIT(Some(crate::text::one_line(message))));
        if write_line(wr, &quit).await.is_ok() && wr.flush().await.is_ok() {
            // Give the server a moment to close its side, so the QUIT is not lost in a reset.
            let mut sink = [0u8; 4096];
            let _ = timeout(Duration::from_secs(2), async {
                while let Ok(n) = rd.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
        }
        let _ = wr.shutdown().await;
        tracing::info!("quit");
    }

    fn update_status(&self, session: &Session) {
        let mut st = self.status.lock().unwrap();
        st.ready = session.is_ready();
        if st.nick != session.nick() {
            st.nick = session.nick().to_string();
        }
        // Runs once per turn of the loop: compare before building anything.
        if !st.joined.iter().map(String::as_str).eq(session.joined_channels()) {
            st.joined = session.joined_channels().map(String::from).collect();
        }
        st.topic_len = session.isupport.topic_len();
        st.queue_depth = self.queue.depth();
    }
}

/// Why the reply channel says to stop.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    Quit(String),
    /// Every `Client` is gone.
    Closed,
}

/// `first` (just received) and whatever else is already waiting in `rx`, up to `limit` in all
/// (the rest stays in the channel for the next turn), so that the acks one commit finished are
/// queued, and can be merged, together. Stops at a QUIT or at the end of the channel.
fn take_waiting(
    first: Option<Outgoing>,
    rx: &mut mpsc::UnboundedReceiver<Outgoing>,
    limit: usize,
) -> (Vec<Outgoing>, Option<Stop>) {
    let mut taken = Vec::new();
    let mut next = first;
    loop {
        match next {
            None => return (taken, Some(Stop::Closed)),
            Some(Outgoing::Quit { message }) => return (taken, Some(Stop::Quit(message))),
            Some(m) => taken.push(m),
        }
        if taken.len() >= limit {
            return (taken, None);
        }
        match rx.try_recv() {
            Ok(m) => next = Some(m),
            Err(_) => return (taken, None),
        }
    }
}

/// Whether `target` can receive a message: a channel (the server answers if we were removed),
/// or a nick that shares a channel with us.
fn reachable(roster: &Mutex<Roster>, target: &str) -> bool {
    target.starts_with(['#', '&', '+', '!'])
        || roster.lock().unwrap().get(&super::isupport::fold(target, super::isupport::CaseMapping::Rfc1459)).is_some()
}

async fn write_line<W: tokio::io::AsyncWrite + Unpin>(wr: &mut W, l: &str) -> std::io::Result<()> {
    let l = wire_safe(l);
    tracing::trace!(line = %redact(&l), ">>");
    wr.write_all(l.as_bytes()).await?;
    wr.write_all(b"\r\n").await
}

/// The line as it may go on the wire: one line, never two. CR or LF inside would let text that
/// came from outside (a channel name the server sent, a nick) smuggle in a second command, and
/// NUL ends a line for some servers; each becomes a space. Replies are already cleaned by the
/// renderer; this is the last guard for every line, protocol lines included.
///
/// A line longer than IRC's 512 bytes (with CR LF) is cut at a character boundary: the session
/// and the renderer keep every line within it, so this only guards against a mistake there.
pub fn wire_safe(l: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 510;
    let mut out = std::borrow::Cow::Borrowed(l);
    if l.contains(['\r', '\n', '\0']) {
        tracing::warn!(line = %redact(l).escape_debug(), "control character in an outgoing line; replaced");
        out = std::borrow::Cow::Owned(l.replace(['\r', '\n', '\0'], " "));
    }
    if out.len() > MAX {
        let mut end = MAX;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        tracing::warn!(bytes = out.len(), "outgoing line over 512 bytes; cut");
        out = std::borrow::Cow::Owned(out[..end].to_string());
    }
    out
}

/// Which reconnect attempt comes next after `previous`: the first again after a link that
/// stayed registered for `STABLE_LINK`, else one more, so that a server that drops us right
/// after 001 (a K-line, "Excess Flood") sees the delay grow to `reconnect_max` instead of a
/// reconnect every second or two.
fn next_attempt(previous: u32, registered_for: Option<Duration>) -> u32 {
    match registered_for {
        Some(up) if up >= STABLE_LINK => 1,
        _ => previous.saturating_add(1),
    }
}

/// The delay before reconnect attempt `n` (1-based): doubling from `min`, capped at `max`, with
/// jitter in the upper half so that many bots do not come back in lockstep.
pub fn backoff(min: Duration, max: Duration, n: u32) -> Duration {
    let full = min.saturating_mul(1u32 << n.saturating_sub(1).min(20)).min(max);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

/// Whether a line from the server may show a channel key: a MODE (or the 324 answer to one)
/// whose mode string sets `k`. Such lines are never written to the log, not even at trace.
fn carries_channel_key(l: &line::Line) -> bool {
    let modes = match l.command.as_str() {
        "MODE" => l.params.get(1),
        "324" => l.params.get(2),
        _ => None,
    };
    modes.is_some_and(|m| m.contains('k'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_may_show_a_channel_key_are_recognised() {
        let shows = |raw: &str| carries_channel_key(&line::parse(raw).unwrap());
        assert!(shows(":op!o@h MODE #sec +k s3cret"));
        assert!(shows(":op!o@h MODE #sec +ntk s3cret"));
        assert!(shows(":irc 324 srebot #sec +knt s3cret"));
        assert!(!shows(":op!o@h MODE #sec +o srebot"));
        assert!(!shows(":irc 324 srebot #sec +nt"));
        assert!(!shows(":alice!a@h PRIVMSG #sec :MODE +k is how you set a key"));
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        let (min, max) = (Duration::from_secs(2), Duration::from_secs(300));
        for n in 1..40 {
            let d = backoff(min, max, n);
            assert!(d >= min / 2 && d <= max, "{n}: {d:?}");
        }
        assert!(backoff(min, max, 3) >= Duration::from_secs(4));
        assert!(backoff(min, max, 30) >= Duration::from_secs(150));
    }

    #[tokio::test]
    async fn bucket_allows_a_burst_then_paces() {
        let mut b = Bucket::new(&FloodConfig { burst: 4, interval_ms: 1500 });
        let now = Instant::now();
        for _ in 0..4 {
            assert!(b.take(now).is_ok());
        }
        let wait = b.take(now).unwrap_err();
        assert!(wait <= Duration::from_millis(1500) && wait > Duration::from_millis(1400), "{wait:?}");
        assert!(b.take(now + Duration::from_millis(1500)).is_ok());
        assert!(b.take(now + Duration::from_millis(1600)).is_err());
        // Urgent lines are paid for, never refused.
        b.spend(now + Duration::from_millis(1600));
        assert!(b.take(now + Duration::from_millis(3000)).is_err());
    }

    #[tokio::test]
    async fn bucket_room_counts_tokens() {
        let mut b = Bucket::new(&FloodConfig { burst: 4, interval_ms: 1500 });
        let now = Instant::now();
        assert_eq!(b.room(now), Ok(4.0));
        b.take(now).unwrap();
        assert_eq!(b.room(now), Ok(3.0));
        let mut open = Bucket::new(&FloodConfig { burst: 1, interval_ms: 0 });
        assert_eq!(open.room(now), Ok(f64::INFINITY));
    }

    #[test]
    fn taking_waiting_replies_loses_none_and_stops_at_quit() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let say = |i: usize| Outgoing::Privmsg { target: "#a".into(), text: i.to_string() };
        for i in 1..600 {
            tx.send(say(i)).unwrap();
        }
        tx.send(Outgoing::Quit { message: "bye".into() }).unwrap();
        tx.send(say(1000)).unwrap();
        let mut all = Vec::new();
        let (first, stop) = take_waiting(Some(say(0)), &mut rx, 256);
        assert_eq!((first.len(), stop), (256, None));
        all.extend(first);
        loop {
            let (more, stop) = take_waiting(rx.try_recv().ok(), &mut rx, 256);
            all.extend(more);
            if let Some(stop) = stop {
                assert_eq!(stop, Stop::Quit("bye".into()));
                break;
            }
        }
        assert_eq!(all, (0..600).map(say).collect::<Vec<_>>(), "all of them, in order");
        drop(tx);
        assert_eq!(take_waiting(rx.try_recv().ok(), &mut rx, 256), (vec![say(1000)], None));
        assert_eq!(take_waiting(None, &mut rx, 256), (vec![], Some(Stop::Closed)));
    }

    #[test]
    fn backoff_resets_only_after_a_link_that_stayed_up() {
        assert_eq!(next_attempt(0, None), 1);
        assert_eq!(next_attempt(3, None), 4, "connect failed");
        assert_eq!(next_attempt(3, Some(Duration::from_secs(2))), 4, "dropped right after 001");
        assert_eq!(next_attempt(3, Some(STABLE_LINK - Duration::from_millis(1))), 4);
        assert_eq!(next_attempt(3, Some(STABLE_LINK)), 1, "a good link: start over");
        assert_eq!(next_attempt(9, Some(Duration::from_secs(3600))), 1);
        // A server that kills us a second after every 001 (K-line, Excess Flood): the delay
        // climbs to the cap instead of a reconnect every second or two.
        let (min, max) = (Duration::from_secs(2), Duration::from_secs(300));
        let mut attempt = 0;
        let delays: Vec<Duration> = (0..12)
            .map(|_| {
                attempt = next_attempt(attempt, Some(Duration::from_secs(1)));
                backoff(min, max, attempt)
            })
            .collect();
        assert!(delays[11] >= max / 2, "{delays:?}");
        assert!(delays[4] >= Duration::from_secs(16), "{delays:?}");
    }

    /// The session tests' settings, without alt nicks or channels to join.
    fn quiet_settings() -> Settings {
        Settings { alt_nicks: vec![], channels: vec![], ..crate::irc::session::tests::settings(false) }
    }

    /// Reads lines from the bot until one satisfies `done`; returns them all (10 s at most).
    async fn read_until<R: tokio::io::AsyncBufRead + Unpin>(
        lines: &mut tokio::io::Lines<R>,
        done: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut seen = Vec::new();
        let read = async {
            while let Some(l) = lines.next_line().await.expect("read from the bot") {
                let stop = done(&l);
                seen.push(l);
                if stop {
                    return;
                }
            }
            panic!("the bot closed the connection");
        };
        if timeout(Duration::from_secs(10), read).await.is_err() {
            panic!("not seen in 10 s; the bot sent {} lines, the last: {:?}", seen.len(), seen.last());
        }
        seen
    }

    async fn next_event(events: &mut mpsc::Receiver<Event>) -> Event {
        timeout(Duration::from_secs(10), events.recv()).await.expect("an event in 10 s").expect("channel open")
    }

    /// The bot takes no events (every command stuck behind a hung database): the driver must
    /// keep reading, answer PING, keep what it can for later, and tell whom it had to skip.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_ping_while_the_bot_takes_no_events() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let connector = Connector {
            server: "127.0.0.1".into(),
            port: listener.local_addr().unwrap().port(),
            tls: None,
            connect_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(2),
            flood: FloodConfig { burst: 1, interval_ms: 0 },
            sts_tls: None,
            sts_policy: None,
            sts_store: None,
            ack_line: crate::cmd::log::ack_line,
        };
        let (client, mut events, driver) = spawn(quiet_settings(), connector);
        let (sock, _) = listener.accept().await.unwrap();
        let (rd, mut wr) = sock.into_split();
        let mut lines = BufReader::new(rd).lines();
        read_until(&mut lines, |l| l.starts_with("USER ")).await;
        wr.write_all(b":irc 001 srebot :Welcome\r\n:irc 376 srebot :End of MOTD\r\n").await.unwrap();

        // `Ready` takes one place; then this many messages fit in the channel and the buffer.
        let kept = EVENT_CHANNEL - 1 + MAX_PENDING_EVENTS;
        let mut burst = String::new();
        for i in 0..kept {
            burst.push_str(&format!(":alice!a@h PRIVMSG #sre :line {i}\r\n"));
        }
        for nick in ["bob", "carol", "carol", "dave"] {
            burst.push_str(&format!(":{nick}!x@h PRIVMSG #sre :!log skipped\r\n"));
        }
        burst.push_str("PING :still-there\r\n");
        wr.write_all(burst.as_bytes()).await.unwrap();
        let mut told = read_until(&mut lines, |l| l == "PONG still-there").await;
        assert!(!told.iter().any(|l| l.starts_with("NOTICE alice")), "{told:?}");
        // The notices go through the reply queue and the PONG does not: either may come first.
        if !told.iter().any(|l| l.starts_with("NOTICE dave ")) {
            told.extend(read_until(&mut lines, |l| l.starts_with("NOTICE dave ")).await);
        }
        told.retain(|l| l.starts_with("NOTICE"));
        assert_eq!(told.len(), 3, "one notice per skipped sender: {told:?}");
        assert!(told[0].starts_with("NOTICE bob :Sorry: I am overloaded"), "{told:?}");
        assert!(told[1].starts_with("NOTICE carol :"), "{told:?}");

        // The bot wakes up: everything kept comes, in order, and then new lines again.
        assert!(matches!(next_event(&mut events).await, Event::Ready { .. }));
        for i in 0..kept {
            match next_event(&mut events).await {
                Event::Message(m) => assert_eq!(m.text, format!("line {i}")),
                other => panic!("{other:?}"),
            }
        }
        wr.write_all(b":erin!e@h PRIVMSG #sre :after\r\n").await.unwrap();
        match next_event(&mut events).await {
            Event::Message(m) => assert_eq!((m.sender.nick.as_str(), m.text.as_str()), ("erin", "after")),
            other => panic!("{other:?}"),
        }
        client.quit("done");
        read_until(&mut lines, |l| l.starts_with("QUIT")).await;
        drop(wr);
        timeout(Duration::from_secs(10), driver).await.expect("driver stops").unwrap();
    }

    #[test]
    fn lines_on_the_wire_are_single_lines() {
        assert_eq!(wire_safe("PRIVMSG #a :hi"), "PRIVMSG #a :hi");
        assert_eq!(wire_safe("WHO #a\r\nQUIT :x\0"), "WHO #a  QUIT :x ");
        let long = format!("PONG {}", "é".repeat(300));
        let cut = wire_safe(&long);
        assert!(cut.len() <= 510 && long.starts_with(&*cut) && cut.len() >= 509);
    }

    #[test]
    fn wide_open_bucket_never_waits() {
        let mut b = Bucket::new(&FloodConfig { burst: 1, interval_ms: 0 });
        let now = Instant::now();
        for _ in 0..1000 {
            assert!(b.take(now).is_ok());
        }
    }
}
