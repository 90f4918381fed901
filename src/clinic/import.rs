//! Reading and writing the clinic duty schedule: one row per week, naming its clinician, an
//! optional backup and the team.
//!
//! Two inputs are understood. CSV is the bot's own format (see [`to_csv`]). The wiki table is
//! whatever people paste from the team's "SRE Clinic Duty" page, and arrives in several shapes:
//!
//! ```text
//! 2021-09-13Cathal Mooney/Arzhel YounsiSRE-Infrastructure Foundations    copied as plain text
//! 2021-09-13<TAB>Cathal Mooney/Arzhel Younsi<TAB>SRE-Infrastructure Foundations
//! 2021-09-13 | Cathal Mooney/Arzhel Younsi | SRE-Infrastructure Foundations
//! | 2021-09-13 || Cathal Mooney/Arzhel Younsi || SRE-Infrastructure Foundations   wikitext
//! 2021-07-05No clinic duty this week
//! ```
//!
//! Reading is independent of the bot's configuration: the caller checks the rows against its
//! week rule with [`check_weekday`]. Problems are reported per line, and the rows that could be
//! read are returned alongside them, so the caller can show everything wrong at once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};

use super::schedule::summary;
use super::topic::Duty;

/// One week of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The week's first day, as the schedule names it.
    pub week_start: NaiveDate,
    /// `None`: "No clinic duty this week".
    pub clinician: Option<String>,
    pub backup: Option<String>,
    pub team: Option<String>,
}

impl Row {
    /// What the channel topic should say during this week.
    pub fn duty(&self) -> Duty {
        Duty { clinician: self.clinician.clone(), backup: self.backup.clone(), team: self.team.clone() }
    }
}

/// A line of the input that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the input.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What an import did to the stored base rotation, week by week.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub added: Vec<(NaiveDate, Duty)>,
    /// The week, its row before and its row now.
    pub changed: Vec<(NaiveDate, Duty, Duty)>,
    pub unchanged: usize,
    /// Weeks in the database that the file does not have: kept as they are, never deleted.
    pub not_in_file: Vec<(NaiveDate, Duty)>,
    /// Added or changed weeks that also have `!clinic` changes on top, with what they
    /// therefore still are: the import alone does not decide who is on duty there.
    pub still_changed_on_irc: Vec<(NaiveDate, Duty)>,
}

impl Report {
    /// The report as printed: a count line, then one line per week that is not unchanged.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} added, {} changed, {} unchanged, {} not in file (kept)",
            self.added.len(),
            self.changed.len(),
            self.unchanged,
            self.not_in_file.len()
        )];
        out.extend(self.added.iter().map(|(w, d)| format!("added   {w}: {}", summary(d))));
        out.extend(
            self.changed.iter().map(|(w, old, new)| format!("changed {w}: {} → {}", summary(old), summary(new))),
        );
        out.extend(self.not_in_file.iter().map(|(w, d)| format!("kept    {w}: not in file, kept ({})", summary(d))));
        out.extend(
            self.still_changed_on_irc
                .iter()
                .map(|(w, d)| format!("note    {w}: changed on IRC (!clinic) too, so it stays {}", summary(d))),
        );
        out
    }
}

/// The CSV columns, in the order [`to_csv`] writes them.
const COLUMNS: [&str; 4] = ["week_start", "clinician", "backup", "team"];
const WEEK_START: usize = 0;
const CLINICIAN: usize = 1;
const BACKUP: usize = 2;
const TEAM: usize = 3;

/// Reads CSV whose header names the columns `week_start`, `clinician`, `backup` and `team`, in
/// any order (`backup` and `team` may be left out).
///
/// Cells are trimmed. An empty clinician, `none` or "No clinic duty this week" means no clinic
/// duty that week. A clinician written `Clinician/backup` with the backup cell empty is split on
/// the first `/`, as on the wiki. Rows whose cells are all blank (spreadsheets export them) are
/// skipped; a week that appears twice keeps its first row, and the later one is an error. Rows
/// come back in input order.
pub fn parse_csv(text: &str) -> (Vec<Row>, Vec<RowError>) {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => return (Vec::new(), vec![csv_error(&e)]),
        None => {
            let message = format!("no header line: expected {}", COLUMNS.join(","));
            return (Vec::new(), vec![RowError { line: 1, message }]);
        }
    };
    let header_line = line_of(header.position());
    let mut errors = Vec::new();
    let mut column: [Option<usize>; 4] = [None; 4];
    for (i, name) in header.iter().enumerate() {
        // A spreadsheet may start the file with a byte order mark.
        let name = name.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
        let message = match COLUMNS.iter().position(|c| *c == name) {
            Some(c) if column[c].is_none() => {
                column[c] = Some(i);
                continue;
            }
            Some(_) => format!("column {name:?} appears twice in the header"),
            // Reported rather than ignored: "teams" or "backups" would otherwise lose a column.
            None => format!("unknown column {name:?}: expected {}", COLUMNS.join(",")),
        };
        errors.push(RowError { line: header_line, message });
    }
    for required in [WEEK_START, CLINICIAN] {
        if column[required].is_none() {
            let message = format!("the header has no {:?} column: expected {}", COLUMNS[required], COLUMNS.join(","));
            errors.push(RowError { line: header_line, message });
        }
    }
    if column[WEEK_START].is_none() || column[CLINICIAN].is_none() {
        return (Vec::new(), errors);
    }

    let mut weeks = Weeks::default();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                errors.push(csv_error(&e));
                continue;
            }
        };
        let line = line_of(record.position());
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if record.len() > header.len() {
            // Most likely a name with an unquoted comma, which would shift every later cell.
            let message = format!(
                "{} cells but the header has {} (put a cell that contains a comma in double quotes)",
                record.len(),
                header.len()
            );
            errors.push(RowError { line, message });
            continue;
        }
        let cell = |c: usize| column[c].and_then(|i| record.get(i)).unwrap_or("");
        match make_row(cell(WEEK_START), cell(CLINICIAN), cell(BACKUP), cell(TEAM)) {
            Ok(row) => weeks.add(row, line, &mut errors),
            Err(message) => errors.push(RowError { line, message }),
        }
    }
    (weeks.rows, errors)
}

/// Reads the wiki table as pasted (see the module documentation for the shapes understood).
///
/// Only lines that start with a date are rows; everything else (headers, blank lines, `{|`,
/// `|-`, `|}`, the page's prose) is skipped. A row line that cannot be read is an error with its
/// line number. Wiki links are read as their text: `[[User:Jdoe|Jane Doe]]` is `Jane Doe`.
///
/// Cells are split on tabs, `|` or `||`. After the date come either the clinician (with an
/// optional `/backup`) and the team, or the clinician, the backup and the team. A row copied as
/// plain text has its cells run together; there the team is taken to be everything from the
/// first `SRE-` on, as every team in the rotation is named "SRE-…". Without an `SRE-`, the whole
/// rest is the clinician and the team is unknown. Each row must be on one line.
pub fn parse_wiki(text: &str) -> (Vec<Row>, Vec<RowError>) {
    let mut weeks = Weeks::default();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let unlinked = unlink(raw);
        let content = unlinked.trim_start_matches('\u{feff}').trim().trim_matches('|').trim();
        let Some(date_len) = date_prefix(content) else {
            continue;
        };
        let (date, rest) = content.split_at(date_len);
        match wiki_row(date, rest) {
            Ok(row) => weeks.add(row, line, &mut errors),
            Err(message) => errors.push(RowError { line, message }),
        }
    }
    (weeks.rows, errors)
}

/// What a wiki table row looks like, for messages about files that are neither format.
const EXPECTED: &str = "expected CSV starting with the header week_start,clinician,backup,team, or the wiki \
                        table's rows (| YYYY-MM-DD || clinician/backup || team)";

/// Reads CSV when the first non-blank line is a header naming `week_start`, the wiki table
/// otherwise. A file that is neither is refused: a row of the wiki table has the cells after its
/// date (`|`, `||`, a tab, a space, or the name right after the date as pasted), so a date
/// followed by a comma is a CSV row without the documented header, reported with its line; and
/// a file without a single week row is an error, not an empty import.
pub fn parse_any(text: &str) -> (Vec<Row>, Vec<RowError>) {
    let first = text.lines().map(|l| l.trim_start_matches('\u{feff}').trim()).find(|l| !l.is_empty());
    let is_csv = first
        .is_some_and(|l| l.split(',').any(|cell| cell.trim().trim_matches('"').eq_ignore_ascii_case("week_start")));
    let (rows, mut errors) = if is_csv { parse_csv(text) } else { parse_wiki(text) };
    if rows.is_empty() && errors.is_empty() {
        errors.push(RowError { line: 1, message: format!("no week rows in the file: {EXPECTED}") });
    }
    (rows, errors)
}

/// The rows as CSV, header first; a week without clinic duty has `none` as its clinician.
///
/// Rows as the parsers return them read back unchanged through [`parse_csv`]. A hand-made row can
/// come back different: a clinician "none" or one containing `/` with no backup is read the way
/// a person's CSV would be.
pub fn to_csv(rows: &[Row]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for row in rows {
        let cells = [
            row.week_start.format("%Y-%m-%d").to_string(),
            row.clinician.clone().unwrap_or_else(|| "none".to_string()),
            row.backup.clone().unwrap_or_default(),
            row.team.clone().unwrap_or_default(),
        ];
        let cells: Vec<Cow<'_, str>> = cells.iter().map(|c| quote(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// One message for each row whose week does not start on `weekday` (the configured first day of
/// a duty week), such as `2021-01-05 is a Tuesday, but duty weeks start on Monday.`
///
/// Rows carry no line numbers, so the messages name the week; within one import a week appears
/// only once.
pub fn check_weekday(rows: &[Row], weekday: Weekday) -> Vec<String> {
    rows.iter().filter_map(|row| not_a_week_start(row.week_start, weekday)).collect()
}

/// Why `week` cannot be a duty week when duty weeks start on `weekday`, if it cannot: the one
/// wording that an import and `!clinic` both refuse with.
pub fn not_a_week_start(week: NaiveDate, weekday: Weekday) -> Option<String> {
    let day = week.weekday();
    (day != weekday).then(|| format!("{week} is a {}, but duty weeks start on {}.", day_name(day), day_name(weekday)))
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// The rows read so far, keeping the first row of each week.
#[derive(Default)]
struct Weeks {
    rows: Vec<Row>,
    /// The line each week was first seen on.
    lines: HashMap<NaiveDate, usize>,
}

impl Weeks {
    fn add(&mut self, row: Row, line: usize, errors: &mut Vec<RowError>) {
        if let Some(first) = self.lines.get(&row.week_start) {
            let message = format!("week {} is already on line {first}", row.week_start);
            errors.push(RowError { line, message });
        } else {
            self.lines.insert(row.week_start, line);
            self.rows.push(row);
        }
    }
}

/// A row from its cells, as written (untrimmed).
fn make_row(date: &str, clinician: &str, backup: &str, team: &str) -> Result<Row, String> {
    let week_start = parse_date(date.trim())?;
    let (mut clinician, mut backup) = (clinician.trim(), backup.trim());
    if backup.is_empty() {
        if let Some((who, other)) = clinician.split_once('/') {
            (clinician, backup) = (who.trim(), other.trim());
        }
    }
    let clinician = (!clinician.is_empty() && !is_no_duty(clinician)).then(|| clinician.to_string());
    if clinician.is_none() && !backup.is_empty() {
        return Err(format!("a backup ({backup}) for a week without clinic duty: name the clinician"));
    }
    let backup = (!backup.is_empty()).then(|| backup.to_string());
    let team = team.trim();
    let team = (!team.is_empty()).then(|| team.to_string());
    Ok(Row { week_start, clinician, backup, team })
}

/// A wiki row from its date and the rest of its line.
fn wiki_row(date: &str, rest: &str) -> Result<Row, String> {
    if let Some(c) = rest.chars().next().filter(|c| !(c.is_alphabetic() || c.is_whitespace() || *c == '|')) {
        return Err(format!("{c:?} after the date is not a row of the wiki table or of CSV: {EXPECTED}"));
    }
    let mut cells: Vec<&str> = if rest.contains(['|', '\t']) {
        // "||" separates wikitext cells; read it as one separator, not as an empty cell.
        rest.split("||").flat_map(|part| part.split(['|', '\t'])).map(str::trim).collect()
    } else {
        vec![rest.trim()]
    };
    // The date's own cell ends at the first separator; empty cells at the end mean nothing.
    if cells.first().is_some_and(|c| c.is_empty()) {
        cells.remove(0);
    }
    while cells.last().is_some_and(|c| c.is_empty()) {
        cells.pop();
    }
    let (who, backup, team) = match cells[..] {
        [] => ("", "", ""),
        // Copied as plain text, with the cells run together.
        [run_together] => {
            let (who, team) = run_together.find("SRE-").map_or((run_together, ""), |at| run_together.split_at(at));
            (who, "", team)
        }
        [who, team] => (who, "", team),
        [who, backup, team] => (who, backup, team),
        _ => {
            return Err(format!(
                "{} cells after the date: expected the clinician (with an optional /backup) and the team",
                cells.len()
            ))
        }
    };
    if who.trim().is_empty() {
        return Err("no clinician after the date (expected the clinician, with an optional /backup, and the team \
                    on the same line)"
            .to_string());
    }
    make_row(date, who, backup, team)
}

/// Whether a clinician cell says that there is no clinic duty that week.
fn is_no_duty(clinician: &str) -> bool {
    let text = clinician.trim().trim_end_matches(['.', '!']).to_lowercase();
    text == "none" || text.starts_with("no clinic duty")
}

/// A `YYYY-MM-DD` date (month and day may have one digit), nothing else around it.
fn parse_date(text: &str) -> Result<NaiveDate, String> {
    if text.is_empty() {
        return Err("no week_start date".to_string());
    }
    let bad = || format!("{text:?} is not a date (expected YYYY-MM-DD)");
    // chrono alone would read "21-01-04" as the year 21, or accept "+2021-01-04".
    if date_prefix(text) != Some(text.len()) {
        return Err(bad());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())
}

/// The length of the date-shaped text (`dddd-d[d]-d[d]`) that `text` starts with, if any. Shape
/// only: a row starting with "2021-02-30" is a row with a bad date, not prose.
fn date_prefix(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let digits = |from: usize, max: usize| b.iter().skip(from).take(max).take_while(|c| c.is_ascii_digit()).count();
    if digits(0, 4) != 4 || b.get(4) != Some(&b'-') {
        return None;
    }
    let month = digits(5, 2);
    if month == 0 || b.get(5 + month) != Some(&b'-') {
        return None;
    }
    let day = digits(6 + month, 2);
    (day > 0).then_some(6 + month + day)
}

/// The line with wiki links replaced by their text: `[[User:Jdoe|Jane Doe]]` → `Jane Doe`,
/// `[[Jane Doe]]` → `Jane Doe`. The `|` inside a link must not be read as a cell separator.
fn unlink(line: &str) -> Cow<'_, str> {
    if !line.contains("[[") {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find("[[") {
        let inside = &rest[open + 2..];
        let Some(close) = inside.find("]]") else {
            break;
        };
        let link = &inside[..close];
        out.push_str(&rest[..open]);
        out.push_str(link.rsplit_once('|').map_or(link, |(_, text)| text));
        rest = &inside[close + 2..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A CSV cell, quoted when it must be.
fn quote(cell: &str) -> Cow<'_, str> {
    if cell.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", cell.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(cell)
    }
}

fn line_of(position: Option<&csv::Position>) -> usize {
    position.map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX))
}

fn csv_error(e: &csv::Error) -> RowError {
    RowError { line: line_of(e.position()), message: format!("unreadable CSV: {e}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schedule as pasted from the team's wiki page (clinic-duty.md), with the prose around it.
    const WIKI: &str = "\
SRE/SRE Clinic Duty
For getting assistance from the SRE team, see SRE/SRE Team requests.
This is a duty that is fulfilled by a member of the Wikimedia SRE team.
Week startingClinician/backupTeam
2021-01-04Giuseppe LavagettoSRE-Service Operations
2021-01-11Arzhel YounsiSRE-Infrastructure Foundations
2021-01-18Jaime CrespoSRE-Data Persistence
2021-01-25Kunal MehtaSRE-Service Operations
2021-02-01Chris DanisSRE-Infrastructure Foundations
2021-02-08Valentín GutierrezSRE-Traffic
2021-02-15Moritz MühlenhoffSRE-Infrastructure Foundations
2021-02-22John BondSRE-Infrastructure Foundations
2021-03-01Janis MeybohmSRE-Service Operations
2021-03-08Cas RusnovSRE-Infrastructure Foundations
2021-03-15Riccardo CoccioliSRE-Infrastructure Foundations
2021-03-22Stevie Beth MhaolSRE-Data Persistence
2021-03-29Effie MouzeliSRE-Service Operations
2021-04-05Emanuele RoccaSRE-Traffic
2021-04-12Filippo GiunchediSRE-Observability
2021-04-19Alexandros KosiarisSRE-Service Operations
2021-04-26Rob HalsellSRE-Data Center Operations
2021-05-03Daniel ZahnSRE-Service Operations
2021-05-10Arzhel YounsiSRE-Infrastructure Foundations
2021-05-17Brandon BlackSRE-Traffic
2021-05-24Manuel ArósteguiSRE-Data Persistence
2021-05-31Cole WhiteSRE-Observability
2021-06-07Riccardo CoccioliSRE-Infrastructure Foundations
2021-06-14Sukhbir SinghSRE-Traffic
2021-06-21John BondSRE-Infrastructure Foundations
2021-06-28Keith HerronSRE-Observability
2021-07-05No clinic duty this week
2021-07-12Valentín GutierrezSRE-Traffic
2021-07-19Reuven LazarusSRE-Service Operations
2021-07-26Kunal MehtaSRE-Service Operations
2021-08-02Moritz MühlenhoffSRE-Infrastructure Foundations
2021-08-09Emanuele RoccaSRE-Traffic
2021-08-16Rob HalsellSRE-Data Center Operations
2021-08-23Jaime CrespoSRE-Data Persistence
2021-08-30Filippo GiunchediSRE-Observability
2021-09-06Alexandros KosiarisSRE-Service Operations
2021-09-13Cathal Mooney/Arzhel YounsiSRE-Infrastructure Foundations
2021-09-20Manuel ArósteguiSRE-Data Persistence
2021-09-27Giuseppe LavagettoSRE-Service Operations
2021-10-04Stevie ShirleySRE-Data Persistence
2021-10-11Chris DanisSRE-Infrastructure Foundations
2021-10-18Daniel ZahnSRE-Service Operations
2021-10-25Sukhbir SinghSRE-Traffic
2021-11-01Effie MouzeliSRE-Service Operations
2021-11-08Cole WhiteSRE-Observability
2021-11-15JW/Janis MeybohmSRE-Service Operations
2021-11-22Marc Mandere/Brandon BlackSRE-Traffic
2021-11-29Keith HerronSRE-Observability
2021-12-06Valentín GutierrezSRE-Traffic
2021-12-13MV/Manuel ArósteguiSRE-Data Persistence
2021-12-20Reuven LazarusSRE-Service Operations
2021-12-27No clinic duty this week
Folks will follow up with the person on SRE Clinic Duty about existing tasks, as well as how to create new ones.
Update the topic in IRC channel #wikimedia-operations, section 'SRE Clinic Duty:' with the person's name for that week.
Last edited on 23 July 2021, at 14:27
";

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid date")
    }

    fn row(week: &str, clinician: Option<&str>, backup: Option<&str>, team: Option<&str>) -> Row {
        Row {
            week_start: date(week),
            clinician: clinician.map(str::to_string),
            backup: backup.map(str::to_string),
            team: team.map(str::to_string),
        }
    }

    fn err(line: usize, contains: &str, errors: &[RowError]) {
        assert!(
            errors.iter().any(|e| e.line == line && e.message.contains(contains)),
            "no error on line {line} containing {contains:?} in {errors:?}"
        );
    }

    #[test]
    fn wiki_page_as_pasted() {
        let (rows, errors) = parse_wiki(WIKI);
        assert_eq!(errors, []);
        assert_eq!(rows.len(), 52);
        assert_eq!(rows[0], row("2021-01-04", Some("Giuseppe Lavagetto"), None, Some("SRE-Service Operations")));
        assert_eq!(rows[5], row("2021-02-08", Some("Valentín Gutierrez"), None, Some("SRE-Traffic")));
        assert_eq!(rows[16], row("2021-04-26", Some("Rob Halsell"), None, Some("SRE-Data Center Operations")));
        assert_eq!(rows[26], row("2021-07-05", None, None, None));
        assert_eq!(
            rows[36],
            row("2021-09-13", Some("Cathal Mooney"), Some("Arzhel Younsi"), Some("SRE-Infrastructure Foundations"))
        );
        assert_eq!(rows[45], row("2021-11-15", Some("JW"), Some("Janis Meybohm"), Some("SRE-Service Operations")));
        assert_eq!(rows[49], row("2021-12-13", Some("MV"), Some("Manuel Aróstegui"), Some("SRE-Data Persistence")));
        assert_eq!(rows[51], row("2021-12-27", None, None, None));
        // The whole schedule starts on Mondays.
        assert_eq!(check_weekday(&rows, Weekday::Mon), Vec::<String>::new());
        assert!(rows.iter().filter_map(|r| r.team.as_deref()).all(|t| t.starts_with("SRE-")));
    }

    #[test]
    fn wiki_wikitext_form() {
        let text = "\
{| class=\"wikitable\"
! Week starting !! Clinician/backup !! Team
|-
| 2021-01-04 || Giuseppe Lavagetto || SRE-Service Operations
|-
| 2021-09-13 || Cathal Mooney/Arzhel Younsi || SRE-Infrastructure Foundations
|-
| 2021-07-05 || No clinic duty this week ||
|-
|2021-11-22||[[User:Mmandere|Marc Mandere]]/[[Brandon Black]]||SRE-Traffic
|}
";
        let (rows, errors) = parse_wiki(text);
        assert_eq!(errors, []);
        assert_eq!(
            rows,
            [
                row("2021-01-04", Some("Giuseppe Lavagetto"), None, Some("SRE-Service Operations")),
                row("2021-09-13", Some("Cathal Mooney"), Some("Arzhel Younsi"), Some("SRE-Infrastructure Foundations")),
                row("2021-07-05", None, None, None),
                row("2021-11-22", Some("Marc Mandere"), Some("Brandon Black"), Some("SRE-Traffic")),
            ]
        );
    }

    #[test]
    fn wiki_tab_and_pipe_forms() {
        let text = "Week starting\tClinician/backup\tTeam\n\
                    2021-09-13\tCathal Mooney/Arzhel Younsi\tSRE-Infrastructure Foundations\n\
                    2021-07-05\tNo clinic duty this week\t\n\
                    2021-02-08 | Valentín Gutierrez | SRE-Traffic |\n\
                    | 2021-02-15 | Moritz Mühlenhoff | | SRE-Infrastructure Foundations\n\
                    2021-02-22\tJohn Bond\tJanis Meybohm\tSRE-Infrastructure Foundations\n\
                    2021-03-01 Janis Meybohm SRE-Service Operations\r\n\
                    2021-03-08Someone Without A Team\n";
        let (rows, errors) = parse_wiki(text);
        assert_eq!(errors, []);
        assert_eq!(
            rows,
            [
                row("2021-09-13", Some("Cathal Mooney"), Some("Arzhel Younsi"), Some("SRE-Infrastructure Foundations")),
                row("2021-07-05", None, None, None),
                row("2021-02-08", Some("Valentín Gutierrez"), None, Some("SRE-Traffic")),
                row("2021-02-15", Some("Moritz Mühlenhoff"), None, Some("SRE-Infrastructure Foundations")),
                row("2021-02-22", Some("John Bond"), Some("Janis Meybohm"), Some("SRE-Infrastructure Foundations")),
                row("2021-03-01", Some("Janis Meybohm"), None, Some("SRE-Service Operations")),
                row("2021-03-08", Some("Someone Without A Team"), None, None),
            ]
        );
    }

    #[test]
    fn wiki_bad_lines_reported_by_line_number() {
        let text = "\
Week startingClinician/backupTeam
2021-01-04Giuseppe LavagettoSRE-Service Operations

2021-02-30Nobody ExampleSRE-Traffic
2021-03-01
2021-03-08SRE-Traffic
2021-03-15 || a || b || c || d
2021-01-04Arzhel YounsiSRE-Infrastructure Foundations
2021-03-22No clinic duty this week/Keith Herron
some prose about 2021-04-05
2021-04-05Emanuele RoccaSRE-Traffic
";
        let (rows, errors) = parse_wiki(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].week_start, date("2021-04-05"));
        err(4, "\"2021-02-30\" is not a date", &errors);
        err(5, "no clinician", &errors);
        err(6, "no clinician", &errors);
        err(7, "4 cells", &errors);
        err(8, "week 2021-01-04 is already on line 2", &errors);
        err(9, "backup (Keith Herron) for a week without clinic duty", &errors);
        assert_eq!(errors.len(), 6, "{errors:?}");
        assert_eq!(errors[0].to_string(), "line 4: \"2021-02-30\" is not a date (expected YYYY-MM-DD)");
    }

    #[test]
    fn wiki_junk_only() {
        assert_eq!(parse_wiki(""), (vec![], vec![]));
        assert_eq!(parse_wiki("{|\n|-\n|}\n\n   \nHand-off / Takeover\n[[broken link\n"), (vec![], vec![]));
    }

    #[test]
    fn csv_good() {
        let text = "week_start,clinician,backup,team\n\
                    2021-01-04,Giuseppe Lavagetto,,SRE-Service Operations\n\
                    2021-07-05,,,\n\
                    2021-09-13, Cathal Mooney , Arzhel Younsi ,SRE-Infrastructure Foundations\n\
                    2021-11-15,JW/Janis Meybohm,,SRE-Service Operations\n\
                    2021-12-27,No clinic duty this week,,\n\
                    2022-01-03,none,,SRE-Traffic\n\
                    ,,,\n";
        let (rows, errors) = parse_csv(text);
        assert_eq!(errors, []);
        assert_eq!(
            rows,
            [
                row("2021-01-04", Some("Giuseppe Lavagetto"), None, Some("SRE-Service Operations")),
                row("2021-07-05", None, None, None),
                row("2021-09-13", Some("Cathal Mooney"), Some("Arzhel Younsi"), Some("SRE-Infrastructure Foundations")),
                row("2021-11-15", Some("JW"), Some("Janis Meybohm"), Some("SRE-Service Operations")),
                row("2021-12-27", None, None, None),
                row("2022-01-03", None, None, Some("SRE-Traffic")),
            ]
        );
    }

    #[test]
    fn csv_columns_by_header_name() {
        let text = "\u{feff}Team, Week_Start ,clinician\nSRE-Traffic,2021-02-08,Valentín Gutierrez\n2021-02-15\n";
        let (rows, errors) = parse_csv(text);
        assert_eq!(rows, [row("2021-02-08", Some("Valentín Gutierrez"), None, Some("SRE-Traffic"))]);
        // Line 3 has only the team column filled: no date.
        err(3, "no week_start date", &errors);
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn csv_bad_date_and_duplicate_week() {
        let text = "week_start,clinician,backup,team\n\
                    2021-01-04,Giuseppe Lavagetto,,SRE-Service Operations\n\
                    2021-13-01,Arzhel Younsi,,SRE-Infrastructure Foundations\n\
                    21-01-18,Jaime Crespo,,SRE-Data Persistence\n\
                    2021-01-04,Kunal Mehta,,SRE-Service Operations\n\
                    2021-02-01,Chris Danis,,SRE-Infrastructure Foundations\n";
        let (rows, errors) = parse_csv(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].clinician.as_deref(), Some("Giuseppe Lavagetto"));
        err(3, "\"2021-13-01\" is not a date", &errors);
        err(4, "\"21-01-18\" is not a date", &errors);
        err(5, "week 2021-01-04 is already on line 2", &errors);
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn csv_header_problems() {
        let (rows, errors) = parse_csv("week_start,team\n2021-01-04,SRE-Traffic\n");
        assert_eq!(rows, []);
        assert_eq!(errors.len(), 1);
        err(1, "no \"clinician\" column", &errors);
        let (rows, errors) = parse_csv("date,clinician\n2021-01-04,X\n");
        assert_eq!(rows, []);
        err(1, "unknown column \"date\"", &errors);
        err(1, "no \"week_start\" column", &errors);
        // An unknown column is reported, but the rows are still read.
        let (rows, errors) = parse_csv("week_start,clinician,teams\n2021-01-04,X,SRE-Traffic\n");
        assert_eq!(rows, [row("2021-01-04", Some("X"), None, None)]);
        err(1, "unknown column \"teams\"", &errors);
        let (_, errors) = parse_csv("week_start,clinician,clinician\n");
        err(1, "\"clinician\" appears twice", &errors);
        let (rows, errors) = parse_csv("");
        assert_eq!(rows, []);
        err(1, "no header line", &errors);
    }

    #[test]
    fn csv_quoted_fields() {
        let text = "week_start,clinician,backup,team\n\
                    2021-01-04,\"Lavagetto, Giuseppe\",\"Younsi, Arzhel\",\"SRE-Service Operations, \"\"Ops\"\"\"\n\
                    \"2021-01-11\",\"Multi\nLine\",,\n\
                    2021-01-18,Jaime Crespo,,SRE-Data Persistence\n\
                    2021-01-25,Mehta, Kunal,SRE-Service Operations,extra\n";
        let (rows, errors) = parse_csv(text);
        assert_eq!(
            rows,
            [
                row(
                    "2021-01-04",
                    Some("Lavagetto, Giuseppe"),
                    Some("Younsi, Arzhel"),
                    Some("SRE-Service Operations, \"Ops\"")
                ),
                row("2021-01-11", Some("Multi\nLine"), None, None),
                row("2021-01-18", Some("Jaime Crespo"), None, Some("SRE-Data Persistence")),
            ]
        );
        // The quoted line break makes the last record start on line 6.
        err(6, "5 cells but the header has 4", &errors);
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn csv_round_trip() {
        let (rows, errors) = parse_wiki(WIKI);
        assert_eq!(errors, []);
        let mut rows = rows;
        rows.push(row("2022-01-03", Some("Quote \"Q\" Person"), Some("Comma, Backup"), Some("Team\nOn Two Lines")));
        rows.push(row("2022-01-10", None, None, Some("SRE-Traffic")));
        let csv = to_csv(&rows);
        assert!(csv
            .starts_with("week_start,clinician,backup,team\n2021-01-04,Giuseppe Lavagetto,,SRE-Service Operations\n"));
        assert!(csv.contains("\n2021-07-05,none,,\n"));
        assert!(csv.contains("\n2021-09-13,Cathal Mooney,Arzhel Younsi,SRE-Infrastructure Foundations\n"));
        assert_eq!(parse_csv(&csv), (rows.clone(), vec![]));
        assert_eq!(parse_any(&csv), (rows, vec![]));
        assert_eq!(to_csv(&[]), "week_start,clinician,backup,team\n");
    }

    #[test]
    fn parse_any_picks_by_content() {
        assert_eq!(parse_any(WIKI).0.len(), 52);
        let csv = "\n  week_start,clinician\n2021-01-04,Giuseppe Lavagetto\n";
        assert_eq!(parse_any(csv), (vec![row("2021-01-04", Some("Giuseppe Lavagetto"), None, None)], vec![]));
        let quoted = "\"clinician\",\"week_start\"\nX,2021-01-04\n";
        assert_eq!(parse_any(quoted).0, [row("2021-01-04", Some("X"), None, None)]);
        let nothing = "line 1: no week rows in the file: expected CSV starting with the header \
                       week_start,clinician,backup,team, or the wiki table's rows (| YYYY-MM-DD || clinician/backup || team)";
        assert_eq!(parse_any("").1.iter().map(ToString::to_string).collect::<Vec<_>>(), [nothing]);
        assert_eq!(parse_any("just some prose\n").1.len(), 1);
    }

    #[test]
    fn a_file_that_is_neither_csv_nor_the_wiki_table_is_refused_by_line() {
        // CSV without the documented header: not read as wiki text with a clinician ",Alice".
        let (rows, errors) = parse_any("week,who\n2026-11-30,Alice\n2026-12-07,Bob\n");
        assert_eq!(rows, []);
        err(2, "',' after the date is not a row of the wiki table or of CSV", &errors);
        err(3, "week_start,clinician,backup,team", &errors);
        assert_eq!(errors.len(), 2, "{errors:?}");
        let (_, errors) = parse_any("2026-11-30;Alice;SRE-Traffic\n");
        err(1, "';' after the date", &errors);
    }

    #[test]
    fn weekday_check() {
        let rows = [row("2021-01-04", Some("A"), None, None), row("2021-01-05", Some("B"), None, None)];
        assert_eq!(check_weekday(&rows, Weekday::Mon), ["2021-01-05 is a Tuesday, but duty weeks start on Monday."]);
        assert_eq!(check_weekday(&rows, Weekday::Tue), ["2021-01-04 is a Monday, but duty weeks start on Tuesday."]);
    }

    #[test]
    fn report_names_old_and_new_and_what_was_kept() {
        let duty = |c: &str, t: &str| Duty { clinician: Some(c.into()), backup: None, team: Some(t.into()) };
        let report = Report {
            added: vec![(date("2022-01-03"), duty("Jane Doe", "SRE-Traffic"))],
            changed: vec![(
                date("2021-09-20"),
                duty("Manuel Aróstegui", "SRE-Data Persistence"),
                duty("Jaime Crespo", "SRE-Data Persistence"),
            )],
            unchanged: 50,
            not_in_file: vec![(date("2021-12-27"), Duty::default())],
            still_changed_on_irc: vec![(date("2021-09-20"), duty("John Bond", "SRE-Data Persistence"))],
        };
        assert_eq!(
            report.lines(),
            [
                "1 added, 1 changed, 50 unchanged, 1 not in file (kept)",
                "added   2022-01-03: clinician Jane Doe, team SRE-Traffic",
                "changed 2021-09-20: clinician Manuel Aróstegui, team SRE-Data Persistence → clinician Jaime Crespo, \
                 team SRE-Data Persistence",
                "kept    2021-12-27: not in file, kept (no clinic duty)",
                "note    2021-09-20: changed on IRC (!clinic) too, so it stays clinician John Bond, team SRE-Data Persistence",
            ]
        );
        assert_eq!(Report::default().lines(), ["0 added, 0 changed, 0 unchanged, 0 not in file (kept)"]);
    }

    #[test]
    fn row_to_duty() {
        let r = row("2021-09-13", Some("Cathal Mooney"), Some("Arzhel Younsi"), Some("SRE-Infrastructure Foundations"));
        assert_eq!(r.duty().to_string(), "Cathal Mooney (backup: Arzhel Younsi, SRE-Infrastructure Foundations)");
        assert_eq!(row("2021-07-05", None, None, None).duty().to_string(), "none");
    }

    #[test]
    fn date_shapes() {
        assert_eq!(date_prefix("2021-01-04Giuseppe"), Some(10));
        assert_eq!(date_prefix("2021-1-4 x"), Some(8));
        assert_eq!(date_prefix("2021-01-"), None);
        assert_eq!(date_prefix("202-01-04"), None);
        assert_eq!(date_prefix("Week starting"), None);
        assert_eq!(date_prefix("2021"), None);
        assert_eq!(date_prefix(""), None);
        assert!(parse_date("2021-1-4").is_ok());
        assert!(parse_date("+2021-01-04").is_err());
        assert!(parse_date("2021-01-04x").is_err());
    }
}
