//! Times as the doors show them: in UTC, to the day or to the minute, never finer.

/// `2026-12-07` for a Unix time.
pub fn day(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix).map_or_else(
        |_| "?".to_owned(),
        |t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
    )
}

/// `14:05 UTC` for a Unix time.
pub fn clock_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix).map_or_else(
        |_| "?".to_owned(),
        |t| format!("{:02}:{:02} UTC", t.hour(), t.minute()),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_and_clock_times_are_utc() {
        assert_eq!(super::day(1_798_761_599), "2026-12-31");
        assert_eq!(super::clock_time(1_798_761_599), "23:59 UTC");
        assert_eq!(super::day(i64::MAX), "?");
    }
}
