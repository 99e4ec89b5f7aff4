//! The arguments of `#[retry_policy]`, `#[idempotent]` and `#[exempt]`: for each, its name, the
//! kind of value it takes, its default (what the runtime does without it) and whether it is
//! required. The macros validate against these tables and the gate reads by them.

use crate::defaults;

/// The kind of value an argument takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An integer literal, at least `min`: `max_attempts = 4`.
    Count { min: u64 },
    /// A string literal in the [`duration`](crate::duration) syntax, greater than zero.
    Duration,
    /// A string literal, one of these words: `jitter = "full"`.
    Choice(&'static [&'static str]),
    /// A string literal naming a shared component; `disabled` opts out: `budget = "none"`.
    Name { disabled: Option<&'static str> },
    /// A Rust expression (a predicate, a store, a scope value).
    Expr,
    /// A key: `header("Idempotency-Key")`, `parts(a, "b", c)` or an expression; never built
    /// from a [`fresh`](crate::fresh) value.
    Key,
    /// A string literal naming an argument or a field path: `natural_key = "event.id"`.
    Field,
    /// A bare word without a value: `conditional`.
    Flag,
    /// A rule id of the catalog, without a value: `#[exempt(IDEM001, …)]`.
    RuleId,
    /// A non-blank string literal: `reason = "…"`.
    Text,
}

/// One argument of an attribute.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub name: &'static str,
    pub kind: Kind,
    /// The runtime's behaviour without it, as users would write it (`"200ms"`), if any.
    pub default: Option<&'static str>,
    pub required: bool,
    /// An example value, as written after `name = ` (empty for a flag).
    pub example: &'static str,
}

/// An attribute and its arguments.
#[derive(Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub args: &'static [Arg],
    /// Arguments of which exactly one must be given (`#[idempotent]`'s strategies).
    pub one_of: &'static [&'static str],
}

impl Attribute {
    /// The argument called `name`.
    pub fn arg(&self, name: &str) -> Option<&'static Arg> {
        self.args.iter().find(|a| a.name == name)
    }

    /// The names of the arguments given as `name = value` or as a flag (not a rule id).
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.args
            .iter()
            .filter(|a| a.kind != Kind::RuleId)
            .map(|a| a.name)
    }

    /// The names, comma-separated, for "valid arguments are: …" messages.
    pub fn names_list(&self) -> String {
        self.names().collect::<Vec<_>>().join(", ")
    }
}

/// The jitters of `#[retry_policy(jitter = …)]`, as `idemgate::retry::Jitter` names them.
pub const JITTERS: &[&str] = &["full", "equal", "decorrelated", "none"];

/// `#[retry_policy(…)]` on an async fn.
pub static RETRY_POLICY: Attribute = Attribute {
    name: "retry_policy",
    args: &[
        Arg {
            name: "max_attempts",
            kind: Kind::Count { min: 1 },
            default: Some("4"),
            required: false,
            example: "4",
        },
        Arg {
            name: "base",
            kind: Kind::Duration,
            default: Some("200ms"),
            required: false,
            example: "\"200ms\"",
        },
        Arg {
            name: "cap",
            kind: Kind::Duration,
            default: Some("5s"),
            required: false,
            example: "\"5s\"",
        },
        Arg {
            name: "max_elapsed",
            kind: Kind::Duration,
            default: Some("10s"),
            required: false,
            example: "\"10s\"",
        },
        Arg {
            name: "jitter",
            kind: Kind::Choice(JITTERS),
            default: Some(defaults::JITTER),
            required: false,
            example: "\"full\"",
        },
        Arg {
            name: "retry_on",
            kind: Kind::Expr,
            default: None,
            required: false,
            example: "is_transient",
        },
        Arg {
            name: "budget",
            kind: Kind::Name {
                disabled: Some(defaults::NO_BUDGET),
            },
            default: Some(defaults::BUDGET),
            required: false,
            example: "\"payments\"",
        },
        Arg {
            name: "breaker",
            kind: Kind::Name { disabled: None },
            default: None,
            required: false,
            example: "\"psp\"",
        },
    ],
    one_of: &[],
};

/// The strategies of `#[idempotent]`: exactly one is given.
pub const STRATEGIES: &[&str] = &["key", "natural_key", "conditional"];

/// `#[idempotent(…)]` on a handler or an async fn.
pub static IDEMPOTENT: Attribute = Attribute {
    name: "idempotent",
    args: &[
        Arg {
            name: "key",
            kind: Kind::Key,
            default: None,
            required: false,
            example: "header(\"Idempotency-Key\")",
        },
        Arg {
            name: "natural_key",
            kind: Kind::Field,
            default: None,
            required: false,
            example: "\"event_id\"",
        },
        Arg {
            name: "conditional",
            kind: Kind::Flag,
            default: None,
            required: false,
            example: "",
        },
        Arg {
            name: "ttl",
            kind: Kind::Duration,
            default: Some("24h"),
            required: false,
            example: "\"24h\"",
        },
        Arg {
            name: "lease",
            kind: Kind::Duration,
            default: Some("60s"),
            required: false,
            example: "\"60s\"",
        },
        Arg {
            name: "wait",
            kind: Kind::Duration,
            default: None,
            required: false,
            example: "\"2s\"",
        },
        Arg {
            name: "scope",
            kind: Kind::Key,
            default: None,
            required: false,
            example: "tenant_id",
        },
        Arg {
            name: "store",
            kind: Kind::Expr,
            default: None,
            required: false,
            example: "my_store",
        },
        Arg {
            name: "fingerprint",
            kind: Kind::Expr,
            default: None,
            required: false,
            example: "fields(\"amount\", \"currency\")",
        },
    ],
    one_of: STRATEGIES,
};

/// `#[exempt(RULE, reason = "…")]` on any item.
pub static EXEMPT: Attribute = Attribute {
    name: "exempt",
    args: &[
        Arg {
            name: "rule",
            kind: Kind::RuleId,
            default: None,
            required: true,
            example: "IDEM001",
        },
        Arg {
            name: "reason",
            kind: Kind::Text,
            default: None,
            required: true,
            example: "\"why this is safe without the rule\"",
        },
    ],
    one_of: &[],
};

/// The three attributes.
pub static ALL: [&Attribute; 3] = [&RETRY_POLICY, &IDEMPOTENT, &EXEMPT];

/// The attribute called `name` (the last segment of its path).
pub fn find(name: &str) -> Option<&'static Attribute> {
    ALL.iter().copied().find(|a| a.name == name)
}

/// How a key of `#[idempotent(key = …)]` is built, as both sides classify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `key = header("Idempotency-Key")`: from the request (handlers).
    Header,
    /// `key = parts(a, "b", c)`: composed unambiguously by `idemgate::Key`.
    Parts,
    /// `key = expr`: any other expression.
    Expr,
    /// `natural_key = "field"`.
    Natural,
    /// `conditional`.
    Conditional,
}

impl KeyKind {
    /// The kind of `key = <call>(…)` by the called function's name (`None`: an expression).
    pub fn of_key_call(function: &str) -> KeyKind {
        match function {
            "header" => KeyKind::Header,
            "parts" => KeyKind::Parts,
            _ => KeyKind::Expr,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Header => "header",
            KeyKind::Parts => "parts",
            KeyKind::Expr => "expr",
            KeyKind::Natural => "natural_key",
            KeyKind::Conditional => "conditional",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration;

    #[test]
    fn defaults_in_the_tables_are_the_runtime_defaults() {
        let ms = |a: &Attribute, n: &str| {
            a.arg(n)
                .and_then(|a| a.default)
                .and_then(duration::parse_millis)
        };
        assert_eq!(ms(&RETRY_POLICY, "base"), Some(defaults::BASE_MS));
        assert_eq!(ms(&RETRY_POLICY, "cap"), Some(defaults::CAP_MS));
        assert_eq!(
            ms(&RETRY_POLICY, "max_elapsed"),
            Some(defaults::MAX_ELAPSED_MS)
        );
        assert_eq!(ms(&IDEMPOTENT, "ttl"), Some(defaults::TTL_MS));
        assert_eq!(ms(&IDEMPOTENT, "lease"), Some(defaults::LEASE_MS));
        let attempts = RETRY_POLICY.arg("max_attempts").and_then(|a| a.default);
        assert_eq!(
            attempts.and_then(|d| d.parse().ok()),
            Some(defaults::MAX_ATTEMPTS)
        );
    }

    #[test]
    fn names_are_unique_and_strategies_exist() {
        for attribute in ALL {
            let mut names: Vec<_> = attribute.args.iter().map(|a| a.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), attribute.args.len(), "{}", attribute.name);
            for s in attribute.one_of {
                assert!(attribute.arg(s).is_some(), "{s}");
            }
        }
        assert_eq!(
            RETRY_POLICY.names_list(),
            "max_attempts, base, cap, max_elapsed, jitter, retry_on, budget, breaker"
        );
        assert_eq!(EXEMPT.names().collect::<Vec<_>>(), ["reason"]);
    }
}
