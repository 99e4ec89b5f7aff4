//! Values that are fresh on every call — random ids and numbers, clocks, counters. A key built
//! from one is different on every attempt, so it deduplicates nothing: the macro refuses it at
//! compile time and the gate reports it (IDEM002). Both classify calls with these functions.

/// What kind of fresh value a call yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fresh {
    Uuid,
    Random,
    Clock,
    Id,
    Counter,
}

impl Fresh {
    /// How an error message names it.
    pub fn describe(self) -> &'static str {
        match self {
            Fresh::Uuid => "a random or time-based UUID",
            Fresh::Random => "a random number",
            Fresh::Clock => "the current time",
            Fresh::Id => "a random id",
            Fresh::Counter => "a counter",
        }
    }
}

/// Functions (last path segment) that make a random or time-based UUID.
pub const UUID_FNS: &[&str] = &[
    "new_v1", "new_v4", "new_v6", "new_v7", "now_v1", "now_v6", "now_v7",
];
/// Functions that make or draw from a random generator.
pub const RANDOM_FNS: &[&str] = &[
    "thread_rng",
    "rng",
    "random",
    "random_range",
    "from_entropy",
    "from_os_rng",
    "fill_bytes",
];
/// Crates and types every call into which is random (`rand::…`, `getrandom::fill`, `OsRng`).
pub const RANDOM_ROOTS: &[&str] = &["rand", "fastrand", "getrandom", "nanoid", "OsRng"];
/// Methods of a random generator.
pub const RANDOM_METHODS: &[&str] = &[
    "gen",
    "gen_range",
    "random",
    "random_range",
    "next_u32",
    "next_u64",
];
/// Functions that read a clock.
pub const CLOCK_FNS: &[&str] = &["now", "now_utc", "now_local"];
/// Types whose `now()` reads a clock; `now()` on another type is the type's own business.
pub const CLOCK_TYPES: &[&str] = &[
    "Utc",
    "Local",
    "SystemTime",
    "OffsetDateTime",
    "PrimitiveDateTime",
    "NaiveDateTime",
    "Instant",
    "Timestamp",
    "Zoned",
];
/// Methods whose value depends on the clock (`started.elapsed()`).
pub const CLOCK_METHODS: &[&str] = &["elapsed"];
/// Functions and macros that make a random id.
pub const ID_FNS: &[&str] = &["nanoid", "ulid", "new_ulid"];
/// Types whose `new()` is a random id.
pub const ID_TYPES: &[&str] = &["Ulid"];
/// Methods that advance a shared counter.
pub const COUNTER_METHODS: &[&str] = &["fetch_add", "fetch_sub", "fetch_update"];

/// A call of the function at `path` (its segments, `["Uuid", "new_v4"]`).
pub fn call<S: AsRef<str>>(path: &[S]) -> Option<Fresh> {
    let last = path.last()?.as_ref();
    let first = path.first()?.as_ref();
    let owner = path.len().checked_sub(2).map(|i| path[i].as_ref());
    if UUID_FNS.contains(&last) {
        return Some(Fresh::Uuid);
    }
    if RANDOM_FNS.contains(&last) || RANDOM_ROOTS.contains(&first) {
        return Some(Fresh::Random);
    }
    if CLOCK_FNS.contains(&last)
        && match owner {
            None => true,
            Some(o) => CLOCK_TYPES.contains(&o),
        }
    {
        return Some(Fresh::Clock);
    }
    if ID_FNS.contains(&last) || (last == "new" && owner.is_some_and(|o| ID_TYPES.contains(&o))) {
        return Some(Fresh::Id);
    }
    None
}

/// A method call `receiver.name(…)`.
pub fn method(name: &str) -> Option<Fresh> {
    if RANDOM_METHODS.contains(&name) {
        Some(Fresh::Random)
    } else if COUNTER_METHODS.contains(&name) {
        Some(Fresh::Counter)
    } else if CLOCK_METHODS.contains(&name) {
        Some(Fresh::Clock)
    } else {
        None
    }
}

/// A macro call `name!(…)` that is a fresh value itself.
pub fn macro_call(name: &str) -> Option<Fresh> {
    ID_FNS.contains(&name).then_some(Fresh::Id)
}

/// Calls that must be recognised as fresh, by path or method: what the macros ⇔ gate tests
/// compile and scan. (`path` segments joined by `::`; a leading `.` marks a method.)
pub const EXAMPLES: &[(&str, Fresh)] = &[
    ("Uuid::new_v4", Fresh::Uuid),
    ("Uuid::new_v6", Fresh::Uuid),
    ("Uuid::now_v7", Fresh::Uuid),
    ("rand::random", Fresh::Random),
    ("StdRng::from_entropy", Fresh::Random),
    ("getrandom::u64", Fresh::Random),
    ("fastrand::u64", Fresh::Random),
    ("Utc::now", Fresh::Clock),
    ("SystemTime::now", Fresh::Clock),
    ("Instant::now", Fresh::Clock),
    ("Ulid::new", Fresh::Id),
    (".elapsed", Fresh::Clock),
    (".fetch_add", Fresh::Counter),
    (".gen_range", Fresh::Random),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples() {
        for (text, kind) in EXAMPLES {
            let got = match text.strip_prefix('.') {
                Some(m) => method(m),
                None => call(&text.split("::").collect::<Vec<_>>()),
            };
            assert_eq!(got, Some(*kind), "{text}");
        }
    }

    #[test]
    fn business_values_are_not_fresh() {
        for path in ["Order::id", "to_string", "Clock::now", "Key::new", "format"] {
            assert_eq!(call(&path.split("::").collect::<Vec<_>>()), None, "{path}");
        }
        assert_eq!(method("clone"), None);
        assert_eq!(macro_call("format"), None);
        assert_eq!(macro_call("nanoid"), Some(Fresh::Id));
    }
}
