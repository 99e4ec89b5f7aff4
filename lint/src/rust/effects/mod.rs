//! What a function does to the world outside it, for IDEM001: writes (SQL that changes rows,
//! ORM saves, outbound POST/PUT/PATCH/DELETE, messages published or sent, file writes, shared
//! state mutated behind a lock or in an atomic), calls whose effect depends on their callee
//! (resolved across the workspace by the linker), and things the gate cannot read (a macro it
//! does not understand). A function with none of these only reads, validates or computes.
//!
//! The word lists that decide "pure" for code outside the scan are here and nowhere else:
//! they are kept short on purpose, since anything not on them is *unknown*, never read-only.

use idemgate_rules::model::rust::{Evidence, HandlerEffects};
use idemgate_rules::Location;

mod body;
mod words;

pub use body::summarize;
pub use words::{pure_method, pure_path, write_path};

/// A call whose effect is the effect of what it calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callee {
    /// `db::save(x)`, `Order::find(id)`: resolved like a handler path.
    Path(Vec<String>),
    /// `self.m(…)`: a method of the function's own type.
    SelfMethod(String),
    /// `x.m(…)` on anything else, with its number of arguments: resolved by name and arity
    /// among the workspace's methods.
    Method(String, usize),
}

/// The effects of one function body, before its calls are followed.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// What the body itself changes (description, where).
    pub writes: Vec<(String, Location)>,
    /// What the gate cannot read in the body (description, where).
    pub unknown: Vec<(String, Location)>,
    /// Calls to follow.
    pub calls: Vec<(Callee, Location)>,
    /// The number of parameters besides `self`.
    pub arity: usize,
}

/// How deep calls are followed from a handler.
pub const MAX_DEPTH: u32 = 3;

/// What a call leads to, as the linker resolves it.
pub enum Resolution<Id> {
    /// Functions of the scanned crates (several for a method name defined by several types).
    Fns(Vec<Id>),
    /// Code outside the scan known to only read or build values.
    Pure,
    /// Code the gate cannot see, with what to say about it.
    Unknown(String),
    /// Code outside the scan that writes, by its name (`diesel::insert_into`).
    Write(String),
}

/// The linker's side of [`classify`]: function bodies and call resolution.
pub trait Lookup {
    type Id: Copy + Eq + std::hash::Hash;
    /// The summary of a function's body; `None` when it cannot be parsed.
    fn summary(&mut self, f: Self::Id) -> Option<std::rc::Rc<Summary>>;
    fn resolve(&mut self, from: Self::Id, callee: &Callee) -> Resolution<Self::Id>;
    /// The crate-relative path of a function.
    fn name(&self, f: Self::Id) -> String;
    /// Where a function is declared (its name).
    fn location(&self, f: Self::Id) -> Location;
}

/// Classifies what `f` does, following its calls [`MAX_DEPTH`] deep. Recursion contributes
/// nothing new (a function already being classified is skipped); results are memoized per
/// function and depth.
pub fn classify<L: Lookup>(
    l: &mut L,
    f: L::Id,
    memo: &mut std::collections::HashMap<(L::Id, u32), HandlerEffects>,
) -> HandlerEffects {
    let mut visiting = Vec::new();
    classify_at(l, f, 0, memo, &mut visiting)
}

fn classify_at<L: Lookup>(
    l: &mut L,
    f: L::Id,
    depth: u32,
    memo: &mut std::collections::HashMap<(L::Id, u32), HandlerEffects>,
    visiting: &mut Vec<L::Id>,
) -> HandlerEffects {
    if let Some(r) = memo.get(&(f, depth)) {
        return r.clone();
    }
    let Some(summary) = l.summary(f) else {
        return HandlerEffects::Unknown(Evidence {
            description: format!("calls `{}`, whose body the gate could not parse", l.name(f)),
            location: l.location(f),
            through: Vec::new(),
        });
    };
    if let Some((what, at)) = summary.writes.first() {
        let r = HandlerEffects::Writes(Evidence {
            description: what.clone(),
            location: at.clone(),
            through: Vec::new(),
        });
        memo.insert((f, depth), r.clone());
        return r;
    }
    let mut unknown = summary.unknown.first().map(|(what, at)| Evidence {
        description: what.clone(),
        location: at.clone(),
        through: Vec::new(),
    });
    visiting.push(f);
    let mut result = None;
    'calls: for (callee, at) in &summary.calls {
        let ids = match l.resolve(f, callee) {
            Resolution::Pure => continue,
            Resolution::Unknown(what) => {
                unknown.get_or_insert_with(|| Evidence {
                    description: what,
                    location: at.clone(),
                    through: Vec::new(),
                });
                continue;
            }
            Resolution::Write(what) => {
                result = Some(HandlerEffects::Writes(Evidence {
                    description: what,
                    location: at.clone(),
                    through: Vec::new(),
                }));
                break 'calls;
            }
            Resolution::Fns(ids) => ids,
        };
        for id in ids {
            if visiting.contains(&id) {
                continue;
            }
            if depth + 1 > MAX_DEPTH {
                // one more level is read but not followed: a leaf (only pure calls) is
                // pure, a write there is a write, anything else is unknown
                match leaf(l, id) {
                    Leaf::Pure => {}
                    Leaf::Writes(what, loc) => {
                        result = Some(HandlerEffects::Writes(Evidence {
                            description: what,
                            location: loc,
                            through: vec![l.name(id)],
                        }));
                        break 'calls;
                    }
                    Leaf::Deeper => {
                        unknown.get_or_insert_with(|| Evidence {
                            description: format!(
                                "calls `{}`, more than {MAX_DEPTH} calls deep, which the gate does not follow",
                                l.name(id)
                            ),
                            location: at.clone(),
                            through: Vec::new(),
                        });
                    }
                }
                continue;
            }
            let via = |mut e: Evidence, l: &L| {
                e.through.insert(0, l.name(id));
                e
            };
            match classify_at(l, id, depth + 1, memo, visiting) {
                HandlerEffects::Writes(e) => {
                    result = Some(HandlerEffects::Writes(via(e, l)));
                    break 'calls;
                }
                HandlerEffects::Unknown(e) if unknown.is_none() => unknown = Some(via(e, l)),
                _ => {}
            }
        }
    }
    visiting.pop();
    let r = result.unwrap_or(match unknown {
        Some(e) => HandlerEffects::Unknown(e),
        None => HandlerEffects::ReadOnly,
    });
    memo.insert((f, depth), r.clone());
    r
}

/// A function past the depth limit, read on its own.
enum Leaf {
    Pure,
    Writes(String, Location),
    Deeper,
}

fn leaf<L: Lookup>(l: &mut L, f: L::Id) -> Leaf {
    let Some(s) = l.summary(f) else {
        return Leaf::Deeper;
    };
    if let Some((what, at)) = s.writes.first() {
        return Leaf::Writes(what.clone(), at.clone());
    }
    let pure = s.unknown.is_empty()
        && s.calls
            .iter()
            .all(|(c, _)| matches!(l.resolve(f, c), Resolution::Pure));
    // past the limit, a function named like a pure std method (`as_str`, `to_string`,
    // `into_iter`) is taken at its name, as it would be outside the scan
    let named_pure = l
        .name(f)
        .rsplit("::")
        .next()
        .is_some_and(words::pure_method);
    if pure || named_pure {
        Leaf::Pure
    } else {
        Leaf::Deeper
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::HashMap;
    use std::rc::Rc;

    /// Functions 0..n: each calls the ones listed; `writer` writes.
    struct Graph {
        calls: Vec<Vec<usize>>,
        writer: Option<usize>,
        asked: usize,
    }

    fn at(line: u32) -> Location {
        let mut l = Location::file_start("src/x.rs".into());
        l.line = line;
        l
    }

    impl Lookup for Graph {
        type Id = usize;
        fn summary(&mut self, f: usize) -> Option<Rc<Summary>> {
            self.asked += 1;
            let mut s = Summary::default();
            if self.writer == Some(f) {
                s.writes.push(("inserts into `t`".into(), at(f as u32)));
            }
            for &c in &self.calls[f] {
                s.calls
                    .push((Callee::Path(vec![format!("f{c}")]), at(f as u32)));
            }
            Some(Rc::new(s))
        }
        fn resolve(&mut self, from: usize, callee: &Callee) -> Resolution<usize> {
            let _ = from;
            match callee {
                Callee::Path(p) => Resolution::Fns(vec![p[0][1..].parse().unwrap()]),
                _ => Resolution::Unknown("?".into()),
            }
        }
        fn name(&self, f: usize) -> String {
            format!("f{f}")
        }
        fn location(&self, f: usize) -> Location {
            at(f as u32)
        }
    }

    fn run(calls: Vec<Vec<usize>>, writer: Option<usize>) -> HandlerEffects {
        let mut g = Graph {
            calls,
            writer,
            asked: 0,
        };
        classify(&mut g, 0, &mut HashMap::new())
    }

    #[test]
    fn a_write_three_calls_deep_is_found_with_the_way_there() {
        let HandlerEffects::Writes(e) = run(vec![vec![1], vec![2], vec![3], vec![]], Some(3))
        else {
            panic!("not a write");
        };
        assert_eq!(e.through, vec!["f1", "f2", "f3"]);
        assert_eq!(e.location.line, 3);
    }

    #[test]
    fn deeper_than_three_is_unknown_unless_a_leaf() {
        // the fourth call is read on its own: a leaf write is a write, a leaf is pure
        let r = run(vec![vec![1], vec![2], vec![3], vec![4], vec![]], Some(4));
        assert!(matches!(r, HandlerEffects::Writes(_)), "{r:?}");
        let r = run(vec![vec![1], vec![2], vec![3], vec![4], vec![]], None);
        assert_eq!(r, HandlerEffects::ReadOnly);
        let r = run(
            vec![vec![1], vec![2], vec![3], vec![4], vec![5], vec![]],
            Some(5),
        );
        let HandlerEffects::Unknown(e) = r else {
            panic!("{r:?}");
        };
        assert!(
            e.description.contains("more than 3 calls deep"),
            "{}",
            e.description
        );
    }

    #[test]
    fn recursion_terminates_and_finds_writes_on_either_side() {
        assert_eq!(
            run(vec![vec![1], vec![0, 1]], None),
            HandlerEffects::ReadOnly
        );
        let r = run(vec![vec![1], vec![2], vec![1]], Some(2));
        assert!(matches!(r, HandlerEffects::Writes(_)), "{r:?}");
    }

    #[test]
    fn shared_callees_are_summarized_once() {
        let mut g = Graph {
            calls: vec![vec![1, 2], vec![3], vec![3], vec![]],
            writer: None,
            asked: 0,
        };
        let mut memo = HashMap::new();
        assert_eq!(classify(&mut g, 0, &mut memo), HandlerEffects::ReadOnly);
        assert_eq!(classify(&mut g, 0, &mut memo), HandlerEffects::ReadOnly);
        // the graph's summaries are asked once per (function, depth) at most
        assert!(g.asked <= 5, "{}", g.asked);
    }
}
