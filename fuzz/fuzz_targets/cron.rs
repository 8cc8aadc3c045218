//! The connector schedule parser (`crates/store/src/cron.rs`), compiled here on its own: the
//! module needs only std, chrono and thiserror, so the fuzz build never compiles sqlx.
//!
//! A refused expression names itself in the error; an accepted one prints back to itself, and
//! its `next_after` / `latest_at_or_before` answers are consistent: whole minutes, on the right
//! side of `t`, and nothing the schedule names lies between them and `t`.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/store/src/cron.rs"]
mod cron;

use std::str::FromStr;

use chrono::{Duration, Timelike};
use libfuzzer_sys::fuzz_target;
use rampart_fuzz::observed_at;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let schedule = match cron::Cron::from_str(text) {
        Err(e) => {
            assert_eq!(e.text, text);
            assert!(!e.problem.is_empty(), "{e}");
            let _ = e.to_string();
            return;
        }
        Ok(c) => c,
    };
    let again = cron::Cron::from_str(&schedule.to_string()).expect("a printed schedule parses");
    assert!(
        again == schedule,
        "{schedule} does not print back to itself"
    );

    // A time with seconds, somewhere in the next ~30 years, picked by the first byte.
    let t = observed_at() + Duration::seconds(i64::from(selector) * 3_712_417 + 17);
    let minute = t
        .with_second(0)
        .and_then(|m| m.with_nanosecond(0))
        .expect("valid");
    if let Some(next) = schedule.next_after(t) {
        assert!(next > t, "{schedule}: next_after({t}) = {next}");
        assert_eq!(next.second(), 0);
        assert_eq!(schedule.latest_at_or_before(next), Some(next), "{schedule}");
        if let Some(before) = schedule.latest_at_or_before(next - Duration::minutes(1)) {
            assert!(
                before <= minute,
                "{schedule}: {before} between {t} and {next}"
            );
        }
    }
    if let Some(latest) = schedule.latest_at_or_before(t) {
        assert!(
            latest <= t,
            "{schedule}: latest_at_or_before({t}) = {latest}"
        );
        assert_eq!(latest.second(), 0);
        if let Some(after) = schedule.next_after(latest) {
            assert!(
                after > minute,
                "{schedule}: {after} between {latest} and {t}"
            );
        }
    }
});
