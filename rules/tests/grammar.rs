//! The catalog and the shared grammar agree: every rule id the catalog defines is one
//! `#[exempt(…)]` compiles with (and no other), and the docs state the runtime's defaults.

use std::collections::BTreeSet;

use idemgate_grammar::{defaults, rules};
use idemgate_rules::all_rules;

#[test]
fn the_grammar_lists_exactly_the_catalog_ids() {
    let catalog: BTreeSet<&str> = all_rules().iter().map(|r| r.meta().id).collect();
    let grammar: BTreeSet<&str> = rules::IDS.iter().copied().collect();
    assert_eq!(
        catalog.difference(&grammar).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "rules of the catalog missing from idemgate_grammar::rules::IDS"
    );
    assert_eq!(
        grammar.difference(&catalog).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "ids in idemgate_grammar::rules::IDS the catalog does not define"
    );
    for id in catalog {
        assert!(
            rules::is_rule_id(id),
            "{id}: its prefix is not in rules::PREFIXES"
        );
    }
}

#[test]
fn retry007_docs_state_the_runtime_defaults() {
    let docs = idemgate_rules::find_rule("RETRY007")
        .map(|r| r.meta().docs)
        .unwrap_or_default();
    for stated in [
        format!("{} attempts", defaults::MAX_ATTEMPTS),
        format!("base {}ms", defaults::BASE_MS),
        format!("cap {}s", defaults::CAP_MS / 1000),
        format!("max elapsed\n{}s", defaults::MAX_ELAPSED_MS / 1000),
        format!("`{}` budget", defaults::BUDGET),
    ] {
        let flat = docs.replace('\n', " ");
        assert!(
            flat.contains(&stated.replace('\n', " ")),
            "RETRY007's docs do not say {stated:?}"
        );
    }
}
