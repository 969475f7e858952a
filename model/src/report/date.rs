//! Dates from milliseconds since the Unix epoch, without a clock, a date
//! library or a time-zone database: the model crate is handed the time and
//! also runs in wasm.
//!
//! Machine-readable times ([`iso`]) and table cells ([`short`], labelled)
//! are UTC. The report's date line ([`long`]) is Italian time, where the
//! sessions take place: CET (UTC+1),
//! and CEST (UTC+2) from 01:00 UTC on the last Sunday of March to 01:00 UTC
//! on the last Sunday of October (the EU rule, the same instant everywhere).

use super::{Lang, i18n};

/// A moment broken into its UTC calendar parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    pub fn from_ms(ms: i64) -> Self {
        let secs = ms.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        // rem is in 0..86_400, so these fit in u32.
        let rem = rem as u32;
        Self {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The last Sunday on or before `year-month-day`, as a day count.
fn last_sunday(year: i64, month: u32, day: u32) -> i64 {
    let d = days_from_civil(year, month, day);
    // 1970-01-01 was a Thursday: (d + 4) mod 7 is 0 on Sundays.
    d - (d + 4).rem_euclid(7)
}

/// Italian time's offset from UTC at `ms`, in milliseconds: one hour, two
/// during summer time.
pub fn rome_offset_ms(ms: i64) -> i64 {
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 86_400_000;
    let year = Civil::from_ms(ms).year;
    let starts = last_sunday(year, 3, 31) * DAY + HOUR;
    let ends = last_sunday(year, 10, 31) * DAY + HOUR;
    if (starts..ends).contains(&ms) {
        2 * HOUR
    } else {
        HOUR
    }
}

/// `ms` broken into Italian wall-clock parts.
pub(crate) fn rome(ms: i64) -> Civil {
    Civil::from_ms(ms + rome_offset_ms(ms))
}

/// Year, month (1–12) and day (1–31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// ISO 8601 in UTC, to the second: `2026-03-14T09:30:00Z`.
pub fn iso(ms: i64) -> String {
    let c = Civil::from_ms(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The date as a person reads it, in Italian time: "14 marzo 2026, ore 10:30
/// (ora italiana)".
pub fn long(lang: Lang, ms: i64) -> String {
    let c = rome(ms);
    i18n::tf(
        lang,
        "date.long",
        &[
            ("day", &c.day.to_string()),
            ("month", &i18n::month(lang, c.month)),
            ("year", &c.year.to_string()),
            ("time", &format!("{:02}:{:02}", c.hour, c.minute)),
        ],
    )
}

/// A calendar day written `YYYY-MM-DD` (the meeting's date) as a person
/// reads it: "4 dicembre 2026" / "4 December 2026". `None` when it is not
/// such a day (a month or day out of range, another shape).
pub fn day(lang: Lang, ymd: &str) -> Option<String> {
    let b = ymd.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = ymd.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    // The day must exist in that month: the day after it is in the next one.
    let (y, m) = (i64::from(year), month);
    let next_month = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let length = days_from_civil(next_month.0, next_month.1, 1) - days_from_civil(y, m, 1);
    if i64::from(day) > length {
        return None;
    }
    Some(i18n::tf(
        lang,
        "date.day",
        &[
            ("day", &day.to_string()),
            ("month", &i18n::month(lang, month)),
            ("year", &year.to_string()),
        ],
    ))
}

/// A compact form for table cells, in UTC and saying so (the annex's JSON
/// carries it too): `2026-03-14 09:30 UTC`.
pub fn short(ms: i64) -> String {
    let c = Civil::from_ms(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_moments_format_as_utc() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        // 2024 is a leap year: the day after 28 February.
        assert_eq!(iso(1_709_164_800_000), "2024-02-29T00:00:00Z");
        assert_eq!(iso(1_773_480_600_000), "2026-03-14T09:30:00Z");
        assert_eq!(iso(-1000), "1969-12-31T23:59:59Z");
        assert_eq!(short(1_773_480_600_000), "2026-03-14 09:30 UTC");
    }

    #[test]
    fn day_counts_go_both_ways() {
        for days in [-800_000, -1, 0, 59, 19_782, 20_526, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        // Sundays: 29 March 2026, 25 October 2026, 28 March and 31 October 2027.
        assert_eq!(civil_from_days(last_sunday(2026, 3, 31)), (2026, 3, 29));
        assert_eq!(civil_from_days(last_sunday(2026, 10, 31)), (2026, 10, 25));
        assert_eq!(civil_from_days(last_sunday(2027, 3, 31)), (2027, 3, 28));
        assert_eq!(civil_from_days(last_sunday(2027, 10, 31)), (2027, 10, 31));
    }

    /// Italian wall-clock time of `ms`, to the second.
    fn wall(ms: i64) -> String {
        let c = rome(ms);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }

    #[test]
    fn summer_time_starts_and_ends_at_one_in_the_morning_utc() {
        // (last second before the switch, first second after, wall clocks)
        let edges = [
            // 2026: last Sundays are 29 March and 25 October.
            (
                1_774_745_999_000,
                "2026-03-29 01:59:59",
                "2026-03-29 03:00:00",
            ),
            (
                1_792_889_999_000,
                "2026-10-25 02:59:59",
                "2026-10-25 02:00:00",
            ),
            // 2027: 28 March and 31 October (the last day of the month).
            (
                1_806_195_599_000,
                "2027-03-28 01:59:59",
                "2027-03-28 03:00:00",
            ),
            (
                1_824_944_399_000,
                "2027-10-31 02:59:59",
                "2027-10-31 02:00:00",
            ),
        ];
        for (before, wall_before, wall_after) in edges {
            assert_eq!(wall(before), wall_before, "{}", iso(before));
            assert_eq!(wall(before + 1000), wall_after, "{}", iso(before + 1000));
        }
        assert_eq!(rome_offset_ms(1_774_745_999_000), 3_600_000);
        assert_eq!(rome_offset_ms(1_774_746_000_000), 7_200_000);
        assert_eq!(rome_offset_ms(1_792_889_999_000), 7_200_000);
        assert_eq!(rome_offset_ms(1_792_890_000_000), 3_600_000);
        // New Year's Eve in Italy is still the old year in UTC.
        assert_eq!(wall(1_767_222_000_000), "2026-01-01 00:00:00");
        assert_eq!(iso(1_767_222_000_000), "2025-12-31T23:00:00Z");
    }

    #[test]
    fn a_meeting_day_is_written_for_people_or_refused() {
        assert_eq!(
            day(Lang::It, "2026-12-04").as_deref(),
            Some("4 dicembre 2026")
        );
        assert_eq!(
            day(Lang::En, "2026-12-04").as_deref(),
            Some("4 December 2026")
        );
        assert_eq!(
            day(Lang::It, "2028-02-29").as_deref(),
            Some("29 febbraio 2028")
        );
        for bad in [
            "2026-02-29",
            "2026-04-31",
            "2026-13-01",
            "2026-00-10",
            "2026-1-04",
            "04/12/2026",
            "",
            "2026-12-0x",
        ] {
            assert_eq!(day(Lang::It, bad), None, "{bad}");
        }
    }

    #[test]
    fn the_long_date_is_localized_and_in_italian_time() {
        // 09:30 UTC in March, before summer time: 10:30 in Italy.
        assert_eq!(
            long(Lang::It, 1_773_480_600_000),
            "14 marzo 2026, ore 10:30 (ora italiana)"
        );
        assert_eq!(
            long(Lang::En, 1_773_480_600_000),
            "14 March 2026, 10:30 (Italian time)"
        );
        // 06:17 UTC in June, summer time: 08:17.
        assert_eq!(
            long(Lang::It, 1_781_331_420_000),
            "13 giugno 2026, ore 08:17 (ora italiana)"
        );
    }
}
