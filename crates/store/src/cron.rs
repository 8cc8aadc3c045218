//! Five-field cron expressions (minute hour day-of-month month day-of-week, in UTC) for connector
//! schedules: `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, month and day
//! names (`jan`, `mon`), and the shorthands `@hourly`, `@daily`, `@weekly`, `@monthly`,
//! `@yearly`. As in Vixie cron, when both day fields are restricted a day matches either.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

/// A parsed schedule.
#[derive(Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    days_restricted: bool,
    weekdays_restricted: bool,
}

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cron expression {text:?}: {problem}")]
pub struct CronError {
    pub text: String,
    pub problem: String,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// How far back (or forward) a search goes before concluding the expression never matches
/// (e.g. `0 0 31 2 *`).
const SEARCH_DAYS: i64 = 366 * 5;

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Cron, CronError> {
        let err = |problem: String| CronError {
            text: text.to_owned(),
            problem,
        };
        let expanded = match text.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            )));
        }
        let minutes = field(fields[0], 0, 59, &[]).map_err(|p| err(format!("minute: {p}")))?;
        let hours = field(fields[1], 0, 23, &[]).map_err(|p| err(format!("hour: {p}")))?;
        let days = field(fields[2], 1, 31, &[]).map_err(|p| err(format!("day of month: {p}")))?;
        let months = field(fields[3], 1, 12, &MONTHS).map_err(|p| err(format!("month: {p}")))?;
        let mut weekdays =
            field(fields[4], 0, 7, &WEEKDAYS).map_err(|p| err(format!("day of week: {p}")))?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7); // 7 is Sunday too
        }
        Ok(Cron {
            text: text.trim().to_owned(),
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: weekdays as u8,
            days_restricted: !fields[2].starts_with('*'),
            weekdays_restricted: !fields[4].starts_with('*'),
        })
    }
}

/// One field as a bit set of the allowed values.
fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let value = |s: &str| -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            // Month names start at 1, weekday names at 0.
            return Ok(i as u32 + min);
        }
        let n: u32 = s.parse().map_err(|_| {
            format!(
                "{s:?} is not a number{}",
                if names.is_empty() { "" } else { " or a name" }
            )
        })?;
        if n < min || n > max {
            return Err(format!("{n} is outside {min}-{max}"));
        }
        Ok(n)
    };
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| format!("step {s:?} is not a number"))?;
                if step == 0 {
                    return Err("a step must be at least 1".into());
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!("range {range:?} runs backwards"));
            }
            (a, b)
        } else if range.is_empty() {
            return Err("empty value".into());
        } else {
            let a = value(range)?;
            // `5/15` means from 5 to the end in steps of 15.
            (a, if part.contains('/') { max } else { a })
        };
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl Cron {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let dom = self.days & (1 << date.day()) != 0;
        let dow = self.weekdays & (1 << date.weekday().num_days_from_sunday()) != 0;
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            _ => dom && dow,
        }
    }

    fn date_matches(&self, date: NaiveDate) -> bool {
        self.months & (1 << date.month()) != 0 && self.day_matches(date)
    }

    /// The latest minute at or before `t` that the schedule names, if one exists within five
    /// years.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = t.with_second(0)?.with_nanosecond(0)?;
        let mut date = start.date_naive();
        let mut first_day = true;
        for _ in 0..SEARCH_DAYS {
            if self.date_matches(date) {
                let (max_h, max_m) = if first_day {
                    (start.hour(), Some(start.minute()))
                } else {
                    (23, None)
                };
                for h in (0..=max_h).rev() {
                    if self.hours & (1 << h) == 0 {
                        continue;
                    }
                    let top = if h == max_h { max_m.unwrap_or(59) } else { 59 };
                    if let Some(m) = (0..=top).rev().find(|m| self.minutes & (1 << m) != 0) {
                        let naive = date.and_hms_opt(h, m, 0)?;
                        return Some(Utc.from_utc_datetime(&naive));
                    }
                }
            }
            date = date.pred_opt()?;
            first_day = false;
        }
        None
    }

    /// The first minute strictly after `t` that the schedule names, if one exists within five
    /// years.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = t.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let mut date = start.date_naive();
        let mut first_day = true;
        for _ in 0..SEARCH_DAYS {
            if self.date_matches(date) {
                let (min_h, min_m) = if first_day {
                    (start.hour(), start.minute())
                } else {
                    (0, 0)
                };
                for h in min_h..24 {
                    if self.hours & (1 << h) == 0 {
                        continue;
                    }
                    let from = if h == min_h { min_m } else { 0 };
                    if let Some(m) = (from..60).find(|m| self.minutes & (1 << m) != 0) {
                        let naive = date.and_hms_opt(h, m, 0)?;
                        return Some(Utc.from_utc_datetime(&naive));
                    }
                }
            }
            date = date.succ_opt()?;
            first_day = false;
        }
        None
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cron(s: &str) -> Cron {
        s.parse().unwrap()
    }

    #[test]
    fn daily_slots() {
        let c = cron("0 3 * * *");
        assert_eq!(
            c.latest_at_or_before(at("2026-11-29T22:40:10Z")),
            Some(at("2026-11-29T03:00:00Z"))
        );
        assert_eq!(
            c.latest_at_or_before(at("2026-11-29T02:59:59Z")),
            Some(at("2026-11-28T03:00:00Z"))
        );
        assert_eq!(
            c.latest_at_or_before(at("2026-11-29T03:00:30Z")),
            Some(at("2026-11-29T03:00:00Z"))
        );
        assert_eq!(
            c.next_after(at("2026-11-29T03:00:00Z")),
            Some(at("2026-11-30T03:00:00Z"))
        );
    }

    #[test]
    fn steps_ranges_lists_and_names() {
        let c = cron("*/15 9-17 * * mon-fri");
        // Sunday 29 Nov 2026 → the last slot is Friday 27 Nov 17:45.
        assert_eq!(
            c.latest_at_or_before(at("2026-11-29T12:00:00Z")),
            Some(at("2026-11-27T17:45:00Z"))
        );
        assert_eq!(
            c.next_after(at("2026-11-29T12:00:00Z")),
            Some(at("2026-11-30T09:00:00Z"))
        );
        let c = cron("5,35 */6 1 jan,jul *");
        assert_eq!(
            c.next_after(at("2026-11-29T12:00:00Z")),
            Some(at("2027-01-01T00:05:00Z"))
        );
        assert_eq!(
            cron("10/20 * * * *").next_after(at("2026-01-01T00:31:00Z")),
            Some(at("2026-01-01T00:50:00Z"))
        );
    }

    #[test]
    fn either_day_field_matches_when_both_are_restricted() {
        // The 1st of the month or any Sunday.
        let c = cron("0 0 1 * 0");
        assert_eq!(
            c.next_after(at("2026-11-29T12:00:00Z")),
            Some(at("2026-12-01T00:00:00Z"))
        );
        assert_eq!(
            c.latest_at_or_before(at("2026-11-29T12:00:00Z")),
            Some(at("2026-11-29T00:00:00Z"))
        );
        // Sunday as 7.
        assert_eq!(cron("0 0 * * 7").weekdays, cron("0 0 * * 0").weekdays);
    }

    #[test]
    fn shorthands() {
        assert_eq!(cron("@daily").minutes, cron("0 0 * * *").minutes);
        assert_eq!(
            cron("@hourly").latest_at_or_before(at("2026-11-29T22:40:00Z")),
            Some(at("2026-11-29T22:00:00Z"))
        );
    }

    #[test]
    fn impossible_dates_never_match() {
        let c = cron("0 0 31 2 *");
        assert_eq!(c.next_after(at("2026-01-01T00:00:00Z")), None);
        assert_eq!(c.latest_at_or_before(at("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn bad_expressions_name_the_field_and_problem() {
        for (text, needle) in [
            ("0 3 * *", "expected 5 fields"),
            ("60 * * * *", "minute: 60 is outside 0-59"),
            ("0 24 * * *", "hour: 24 is outside 0-23"),
            ("0 0 0 * *", "day of month: 0 is outside 1-31"),
            ("0 0 * 13 *", "month: 13 is outside 1-12"),
            (
                "0 0 * * funday",
                "day of week: \"funday\" is not a number or a name",
            ),
            ("*/0 * * * *", "a step must be at least 1"),
            ("5-1 * * * *", "runs backwards"),
            ("0 0 * * 1,", "empty value"),
        ] {
            let e = text.parse::<Cron>().unwrap_err();
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }
}
