//! Duty weeks in the team's timezone: which week an instant belongs to, and when weeks change.
//!
//! A duty week starts on a given weekday (Monday for the SRE Clinic Duty rotation) at the
//! handoff time, both in the team's local time, and lasts until the same moment a week later.
//! Weeks are named by their start date, as in the schedule ("Week starting 2021-09-13").
//!
//! Local time is not continuous. When the handoff time does not exist on the start date (the
//! clocks jump over it in spring), the week starts at the first instant after the jump; when it
//! happens twice (the clocks go back in autumn), the week starts at the earlier one. A week is
//! therefore not always exactly seven times 24 hours long, which is why everything here compares
//! instants rather than adding durations.
//!
//! Timezones come from the system's tz database (`/usr/share/zoneinfo`, Debian's `tzdata`, or
//! `$TZDIR`), read when the rule is: the bot follows the rules of the tzdata the machine is
//! kept up to date with, and does not carry a copy of its own (which, compiled in as
//! `chrono-tz` did, cost a megabyte of relocated tables in every running bot).

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc, Weekday};
use std::fmt;
use std::sync::Arc;

/// A timezone of the tz database, by its name (`UTC`, `Europe/Berlin`).
#[derive(Clone)]
pub struct Zone {
    name: String,
    rules: Arc<tz::TimeZone>,
}

impl Zone {
    /// Reads `name` from the system's tz database. `UTC` needs no database.
    pub fn named(name: &str) -> Result<Zone, String> {
        let unknown = |why: &str| format!("unknown timezone {name:?}: {why}");
        if name == "UTC" {
            return Ok(Zone { name: name.into(), rules: Arc::new(tz::TimeZone::utc()) });
        }
        // A name, never a path: `Europe/Berlin`, `America/Argentina/Buenos_Aires`, `Etc/GMT+5`.
        let fits = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part.chars().all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c))
        };
        if !name.split('/').all(fits) {
            return Err(unknown("use a tz database name such as UTC or Europe/Berlin"));
        }
        let dir = std::env::var_os("TZDIR").unwrap_or_else(|| "/usr/share/zoneinfo".into());
        let file = std::path::Path::new(&dir).join(name);
        let data = std::fs::read(&file).map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::NotFound => "use a tz database name such as UTC or Europe/Berlin",
                _ => "the tz database cannot be read (is the tzdata package installed?)",
            };
            unknown(&format!("{hint}; looked in {}", std::path::Path::new(&dir).display()))
        })?;
        let rules = tz::TimeZone::from_tz_data(&data)
            .map_err(|_| unknown(&format!("{} is not a tz database file", file.display())))?;
        Ok(Zone { name: name.into(), rules: Arc::new(rules) })
    }

    /// The zone's name, as configured.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The UTC offset in seconds and the abbreviation (`CEST`) at `secs` since the epoch.
    fn at(&self, secs: i64) -> Option<(i32, &str)> {
        let t = self.rules.find_local_time_type(secs).ok()?;
        Some((t.ut_offset(), t.time_zone_designation()))
    }

    /// `at` in local time, as `Mon 2026-06-15 09:30 CEST`.
    pub fn show(&self, at: DateTime<Utc>) -> String {
        match (self.at(at.timestamp()), local_time(self, at)) {
            // `UTC` (made without the database) has no abbreviation of its own: its name is one.
            (Some((_, abbreviation)), Some(local)) => {
                let abbreviation = if abbreviation.is_empty() { &self.name } else { abbreviation };
                format!("{} {abbreviation}", local.format("%a %Y-%m-%d %H:%M"))
            }
            _ => at.format("%a %Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// When duty weeks start: on `week_starts`, at `handoff`, local time in `tz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekRule {
    pub tz: Zone,
    pub week_starts: Weekday,
    pub handoff: NaiveTime,
}

impl WeekRule {
    /// Reads the rule from its configuration strings: an IANA timezone name (`UTC`,
    /// `Europe/Berlin`; case matters, as in the tz database), a weekday in English (`monday`,
    /// `Mon`; any case) and a 24-hour time (`00:00`, `09:30`, `9:30:15`).
    pub fn parse(tz: &str, week_starts: &str, handoff: &str) -> Result<WeekRule, String> {
        let tz_name = tz.trim();
        let tz = Zone::named(tz_name)?;
        let day = week_starts.trim();
        let week_starts =
            day.parse::<Weekday>().map_err(|_| format!("unknown weekday {day:?}: use a day such as monday"))?;
        let time = handoff.trim();
        let handoff = NaiveTime::parse_from_str(time, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M:%S"))
            .map_err(|_| format!("bad handoff time {time:?}: use 24-hour HH:MM, such as 00:00 or 09:30"))?;
        Ok(WeekRule { tz, week_starts, handoff })
    }

    /// The start date (a `week_starts` day, local date) of the duty week containing `at`.
    pub fn week_of(&self, at: DateTime<Utc>) -> NaiveDate {
        let local_date = local_time(&self.tz, at).map_or(at.date_naive(), |t| t.date());
        let back = u64::from(local_date.weekday().days_since(self.week_starts));
        let mut week = local_date.checked_sub_days(Days::new(back)).unwrap_or(local_date);
        // The latest week-start day on or before today's date; but before today's handoff the
        // previous week is still on. The second loop only matters for zones whose clocks jump
        // across midnight, where a boundary can land on the following date.
        while at < self.boundary(week) {
            match week.checked_sub_days(Days::new(7)) {
                Some(earlier) => week = earlier,
                None => break,
            }
        }
        while let Some(later) = week.checked_add_days(Days::new(7)) {
            if at < self.boundary(later) {
                break;
            }
            week = later;
        }
        week
    }

    /// The instant (UTC) the duty week starting on local date `week_start` begins: that date at
    /// `handoff` local time (see the module documentation for days when that time is skipped or
    /// repeated).
    pub fn boundary(&self, week_start: NaiveDate) -> DateTime<Utc> {
        let local = week_start.and_time(self.handoff);
        // The instants whose local time is `local`: one per offset in use around it (UTC offsets
        // stay well within a day). Two when the clocks go back (the earlier is taken), none when
        // they skip it.
        let guess = local.and_utc();
        let earliest = [-1, 0, 1]
            .into_iter()
            .filter_map(|days| self.tz.at(guess.timestamp() + days * DAY))
            .filter_map(|(offset, _)| guess.checked_sub_signed(TimeDelta::seconds(offset.into())))
            .filter(|t| local_time(&self.tz, *t) == Some(local))
            .min();
        earliest.unwrap_or_else(|| first_instant_from(&self.tz, local))
    }

    /// The next boundary strictly after `at`: when the duty week containing `at` ends.
    pub fn next_boundary(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let week = self.week_of(at);
        match week.checked_add_days(Days::new(7)) {
            Some(next) => self.boundary(next),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }
}

/// The local time in `tz` at `at`; `None` only at the very ends of chrono's range, where
/// chrono's own conversion would panic.
fn local_time(tz: &Zone, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let (offset, _) = tz.at(at.timestamp())?;
    at.naive_utc().checked_add_signed(TimeDelta::seconds(offset.into()))
}

const DAY: i64 = 86_400;

/// The first instant whose local time in `tz` is `local` or later: for a local time that the
/// clocks skip, the instant they jump (shown as the end of the gap).
fn first_instant_from(tz: &Zone, local: NaiveDateTime) -> DateTime<Utc> {
    let local_at = |secs: i64| DateTime::from_timestamp(secs, 0).and_then(|t| local_time(tz, t));
    // UTC offsets stay well within a day, so the answer lies within a day either side of `local`
    // read as UTC, and local time only moves forward in that window (a zone does not fall back
    // within a day of springing forward). Search it by halving, to the second: transitions
    // happen on whole seconds.
    let guess = local.and_utc().timestamp();
    let (mut lo, mut hi) = (guess.saturating_sub(DAY), guess.saturating_add(DAY));
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match local_at(mid) {
            Some(t) if t >= local => hi = mid,
            Some(_) => lo = mid,
            // Outside chrono's range: only reachable for dates at its very ends.
            None => break,
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl crate::config::ClinicConfig {
    /// The week rule; validated when the config is loaded (see `app`).
    pub fn rule(&self) -> Result<WeekRule, String> {
        WeekRule::parse(&self.timezone, &self.week_starts, &self.handoff_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(tz: &str, day: &str, handoff: &str) -> WeekRule {
        WeekRule::parse(tz, day, handoff).expect("valid rule")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("valid timestamp").with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid date")
    }

    fn second() -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(1)
    }

    #[test]
    fn parse_accepts_config_forms() {
        let r = rule("UTC", "monday", "00:00");
        assert_eq!((r.tz.name(), r.week_starts, r.handoff), ("UTC", Weekday::Mon, NaiveTime::MIN));
        let r = rule(" Europe/Berlin ", "Sun", "09:30");
        assert_eq!(r.tz.name(), "Europe/Berlin");
        assert_eq!(r.week_starts, Weekday::Sun);
        assert_eq!(r.handoff, NaiveTime::from_hms_opt(9, 30, 0).expect("time"));
        assert_eq!(rule("UTC", "TUESDAY", "9:30:15").handoff, NaiveTime::from_hms_opt(9, 30, 15).expect("time"));
    }

    #[test]
    fn parse_errors_name_the_bad_value() {
        let e = WeekRule::parse("Mars/Olympus", "monday", "00:00").unwrap_err();
        assert!(e.contains("unknown timezone \"Mars/Olympus\""), "{e}");
        let e = WeekRule::parse("UTC", "mondag", "00:00").unwrap_err();
        assert!(e.contains("unknown weekday \"mondag\""), "{e}");
        for bad in ["24:00", "9", "noon", "", "12:60", "00:00 UTC"] {
            let e = WeekRule::parse("UTC", "monday", bad).unwrap_err();
            assert!(e.contains("bad handoff time"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_timezone_is_a_name_never_a_path() {
        for bad in
            ["../../etc/passwd", "/etc/passwd", "Europe/../../etc/passwd", "Europe//Berlin", "Europe/Berlin ", ""]
        {
            let e = Zone::named(bad).unwrap_err();
            assert!(e.starts_with(&format!("unknown timezone {bad:?}")), "{bad}: {e}");
        }
        let e = Zone::named("Europe/Atlantis").unwrap_err();
        assert!(e.contains("use a tz database name") && e.contains("looked in"), "{e}");
        // Upper and lower case are different names in the tz database.
        assert!(Zone::named("europe/berlin").is_err());
    }

    #[test]
    fn local_times_are_shown_with_the_zones_abbreviation() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        assert_eq!(berlin.show(utc("2026-06-15T07:30:00Z")), "Mon 2026-06-15 09:30 CEST");
        assert_eq!(berlin.show(utc("2026-01-05T08:30:00Z")), "Mon 2026-01-05 09:30 CET");
        assert_eq!(Zone::named("UTC").unwrap().show(utc("2026-01-05T08:30:00Z")), "Mon 2026-01-05 08:30 UTC");
        assert_eq!(Zone::named("Asia/Kolkata").unwrap().show(utc("2026-01-05T08:30:00Z")), "Mon 2026-01-05 14:00 IST");
    }

    #[test]
    fn utc_monday_weeks_from_the_schedule() {
        let r = rule("UTC", "monday", "00:00");
        // 2021-09-13 is Cathal Mooney's week in the schedule.
        assert_eq!(r.week_of(utc("2021-09-13T00:00:00Z")), date("2021-09-13"));
        assert_eq!(r.week_of(utc("2021-09-15T12:00:00Z")), date("2021-09-13"));
        assert_eq!(r.week_of(utc("2021-09-19T23:59:59Z")), date("2021-09-13"));
        assert_eq!(r.week_of(utc("2021-09-20T00:00:00Z")), date("2021-09-20"));
        assert_eq!(r.boundary(date("2021-09-13")), utc("2021-09-13T00:00:00Z"));
        assert_eq!(r.next_boundary(utc("2021-09-15T12:00:00Z")), utc("2021-09-20T00:00:00Z"));
    }

    #[test]
    fn just_before_at_and_after_a_boundary() {
        let r = rule("Europe/Berlin", "monday", "09:30");
        let b = r.boundary(date("2026-06-15"));
        assert_eq!(b, utc("2026-06-15T07:30:00Z"));
        assert_eq!(r.week_of(b - second()), date("2026-06-08"));
        assert_eq!(r.week_of(b), date("2026-06-15"));
        assert_eq!(r.week_of(b + second()), date("2026-06-15"));
        // Strictly after: at a boundary, the next one is a week away.
        assert_eq!(r.next_boundary(b - second()), b);
        assert_eq!(r.next_boundary(b), utc("2026-06-22T07:30:00Z"));
        // Monday morning before the handoff still belongs to last week.
        assert_eq!(r.week_of(utc("2026-06-15T06:00:00Z")), date("2026-06-08"));
    }

    #[test]
    fn local_date_differs_from_utc_date() {
        // Monday 00:30 in Berlin is still Sunday in UTC.
        let r = rule("Europe/Berlin", "monday", "00:00");
        assert_eq!(r.week_of(utc("2026-06-14T22:30:00Z")), date("2026-06-15"));
        assert_eq!(r.week_of(utc("2026-06-14T21:59:59Z")), date("2026-06-08"));
        // Sunday evening in Los Angeles is already Monday in UTC.
        let r = rule("America/Los_Angeles", "monday", "00:00");
        assert_eq!(r.week_of(utc("2026-06-15T05:00:00Z")), date("2026-06-08"));
        assert_eq!(r.week_of(utc("2026-06-15T07:00:00Z")), date("2026-06-15"));
    }

    #[test]
    fn berlin_spring_forward_week() {
        // 2026-03-29 is a Sunday: 02:00 CET becomes 03:00 CEST. Weeks start Mondays at 00:00.
        let r = rule("Europe/Berlin", "monday", "00:00");
        let start = r.boundary(date("2026-03-23"));
        let end = r.boundary(date("2026-03-30"));
        assert_eq!(start, utc("2026-03-22T23:00:00Z"));
        assert_eq!(end, utc("2026-03-29T22:00:00Z"));
        assert_eq!(end - start, chrono::TimeDelta::hours(7 * 24 - 1));
        assert_eq!(r.week_of(utc("2026-03-29T00:59:59Z")), date("2026-03-23"));
        assert_eq!(r.week_of(utc("2026-03-29T01:00:00Z")), date("2026-03-23"));
        assert_eq!(r.week_of(end - second()), date("2026-03-23"));
        assert_eq!(r.week_of(end), date("2026-03-30"));
        assert_eq!(r.next_boundary(utc("2026-03-29T01:30:00Z")), end);
    }

    #[test]
    fn berlin_fall_back_week() {
        // 2026-10-25 is a Sunday: 03:00 CEST becomes 02:00 CET.
        let r = rule("Europe/Berlin", "monday", "00:00");
        let start = r.boundary(date("2026-10-19"));
        let end = r.boundary(date("2026-10-26"));
        assert_eq!(start, utc("2026-10-18T22:00:00Z"));
        assert_eq!(end, utc("2026-10-25T23:00:00Z"));
        assert_eq!(end - start, chrono::TimeDelta::hours(7 * 24 + 1));
        assert_eq!(r.week_of(utc("2026-10-25T23:30:00Z")), date("2026-10-26"));
        assert_eq!(r.week_of(utc("2026-10-25T22:30:00Z")), date("2026-10-19"));
    }

    #[test]
    fn handoff_in_the_spring_gap_starts_when_the_clocks_jump() {
        // Sunday 2026-03-08 in Los Angeles: 02:00 PST jumps to 03:00 PDT, so 02:30 never happens.
        let r = rule("America/Los_Angeles", "sunday", "02:30");
        let jump = utc("2026-03-08T10:00:00Z"); // 03:00 PDT, the first instant after the gap
        assert_eq!(r.boundary(date("2026-03-08")), jump);
        assert_eq!(r.week_of(jump - second()), date("2026-03-01"));
        assert_eq!(r.week_of(jump), date("2026-03-08"));
        assert_eq!(r.next_boundary(jump - second()), jump);
        assert_eq!(r.next_boundary(jump), utc("2026-03-15T09:30:00Z"));
        // The weeks around it start at 02:30 local as usual.
        assert_eq!(r.boundary(date("2026-03-01")), utc("2026-03-01T10:30:00Z"));
        // Berlin's gap, with a handoff of 02:15 on a Sunday-started week.
        let r = rule("Europe/Berlin", "sunday", "02:15");
        assert_eq!(r.boundary(date("2026-03-29")), utc("2026-03-29T01:00:00Z"));
    }

    #[test]
    fn handoff_repeated_in_autumn_uses_the_earlier() {
        // Sunday 2026-11-01 in Los Angeles: 01:30 happens in PDT and again in PST.
        let r = rule("America/Los_Angeles", "sunday", "01:30");
        let first = utc("2026-11-01T08:30:00Z"); // 01:30 PDT
        assert_eq!(r.boundary(date("2026-11-01")), first);
        assert_eq!(r.week_of(first - second()), date("2026-10-25"));
        assert_eq!(r.week_of(first + chrono::TimeDelta::hours(1)), date("2026-11-01"));
        // Berlin, Sunday 2026-10-25 at 02:30: the CEST one.
        let r = rule("Europe/Berlin", "sunday", "02:30");
        assert_eq!(r.boundary(date("2026-10-25")), utc("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn year_end_and_iso_week_53() {
        // 2026 has an ISO week 53: Monday 2026-12-28 to Sunday 2027-01-03.
        let r = rule("UTC", "monday", "00:00");
        assert_eq!(date("2026-12-28").iso_week().week(), 53);
        assert_eq!(r.week_of(utc("2026-12-31T12:00:00Z")), date("2026-12-28"));
        assert_eq!(r.week_of(utc("2027-01-01T00:00:00Z")), date("2026-12-28"));
        assert_eq!(r.week_of(utc("2027-01-03T23:59:59Z")), date("2026-12-28"));
        assert_eq!(r.week_of(utc("2027-01-04T00:00:00Z")), date("2027-01-04"));
        assert_eq!(r.next_boundary(utc("2026-12-31T12:00:00Z")), utc("2027-01-04T00:00:00Z"));
        // New Year's Eve in Berlin is already 2027 locally.
        let r = rule("Europe/Berlin", "friday", "00:00");
        assert_eq!(r.week_of(utc("2026-12-31T23:30:00Z")), date("2027-01-01"));
        assert_eq!(r.week_of(utc("2026-12-31T22:59:59Z")), date("2026-12-25"));
        // The schedule's last row: 2021-12-27, a week spanning the year end.
        let r = rule("UTC", "monday", "00:00");
        assert_eq!(r.week_of(utc("2022-01-02T18:00:00Z")), date("2021-12-27"));
    }

    #[test]
    fn weeks_starting_on_other_days() {
        let r = rule("UTC", "wednesday", "12:00");
        // Wednesday 2026-01-07 12:00 starts a week.
        assert_eq!(r.week_of(utc("2026-01-07T11:59:59Z")), date("2025-12-31"));
        assert_eq!(r.week_of(utc("2026-01-07T12:00:00Z")), date("2026-01-07"));
        assert_eq!(r.week_of(utc("2026-01-10T00:00:00Z")), date("2026-01-07"));
        assert_eq!(r.week_of(utc("2026-01-14T11:00:00Z")), date("2026-01-07"));
        assert_eq!(r.next_boundary(utc("2026-01-08T00:00:00Z")), utc("2026-01-14T12:00:00Z"));
        let r = rule("Asia/Kolkata", "sunday", "23:30");
        // Sunday 23:30 IST is 18:00 UTC.
        assert_eq!(r.boundary(date("2026-01-04")), utc("2026-01-04T18:00:00Z"));
        assert_eq!(r.week_of(utc("2026-01-04T17:59:59Z")), date("2025-12-28"));
        assert_eq!(r.week_of(utc("2026-01-04T18:00:00Z")), date("2026-01-04"));
    }

    #[test]
    fn every_hour_of_a_year_lies_in_its_week() {
        for r in [
            rule("Europe/Berlin", "monday", "00:00"),
            rule("America/Los_Angeles", "sunday", "02:30"),
            rule("Australia/Lord_Howe", "saturday", "02:15"),
        ] {
            let mut at = utc("2026-01-01T00:00:00Z");
            while at < utc("2027-01-10T00:00:00Z") {
                let week = r.week_of(at);
                assert_eq!(week.weekday(), r.week_starts, "{r:?} {at}");
                assert!(r.boundary(week) <= at, "{r:?} {at}");
                let next = r.next_boundary(at);
                assert!(at < next, "{r:?} {at}");
                assert_eq!(next, r.boundary(week + Days::new(7)), "{r:?} {at}");
                at += chrono::TimeDelta::minutes(37);
            }
        }
    }

    #[test]
    fn extremes_do_not_panic() {
        let r = rule("Pacific/Kiritimati", "monday", "00:00");
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let week = r.week_of(at);
            let _ = r.boundary(week);
            let _ = r.next_boundary(at);
        }
        let _ = r.boundary(NaiveDate::MIN);
        let _ = r.boundary(NaiveDate::MAX);
    }
}
