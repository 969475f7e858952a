//! Dates from milliseconds since the Unix epoch, in UTC, without a clock or
//! a date library: the model crate is handed the time and also runs in wasm.

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

/// The date as a person reads it: "14 marzo 2026, ore 09:30 UTC".
pub fn long(lang: Lang, ms: i64) -> String {
    let c = Civil::from_ms(ms);
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

/// A compact form for table cells: `2026-03-14 09:30 UTC`.
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
    fn the_long_date_is_localized() {
        assert_eq!(
            long(Lang::It, 1_773_480_600_000),
            "14 marzo 2026, ore 09:30 UTC"
        );
        assert_eq!(
            long(Lang::En, 1_773_480_600_000),
            "14 March 2026, 09:30 UTC"
        );
    }
}
