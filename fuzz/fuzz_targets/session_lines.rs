//! The incoming path: arbitrary bytes, split into lines as the driver does, through
//! `irc::line::parse` and `Session::on_line` (after a registration, so that the joined-channel
//! paths are reached). Never panics; every line we would send fits and is a single line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use srebot::testing::irc::driver::wire_safe;
use srebot::testing::irc::line;
use srebot::testing::irc::roster::Roster;
use srebot::testing::irc::session::{Action, Session};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn settings() -> Arc<srebot::testing::irc::session::Settings> {
    static S: OnceLock<Arc<srebot::testing::irc::session::Settings>> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(srebot::testing::session_settings())
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let wall = chrono::Utc::now();
    let mut s = Session::new(settings(), Arc::new(Mutex::new(Roster::default())), t0);
    let mut out = s.start();
    let registered = data.first().is_some_and(|b| b & 1 == 1);
    if registered {
        for raw in srebot::testing::REGISTRATION {
            if let Some(l) = line::parse(raw) {
                out.extend(s.on_line(&l, t0, wall));
            }
        }
    }
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let raw = String::from_utf8_lossy(raw);
        let now = t0 + Duration::from_millis(50 * i as u64);
        if let Some(l) = line::parse(&raw) {
            out.extend(s.on_line(&l, now, wall));
        }
        out.extend(s.on_tick(now));
    }
    for a in &out {
        if let Action::Send(l) | Action::SendUrgent(l) = a {
            assert!(!wire_safe(l).contains(['\r', '\n', '\0']));
            assert!(l.len() + 2 <= 512, "{} bytes", l.len());
        }
    }
});
