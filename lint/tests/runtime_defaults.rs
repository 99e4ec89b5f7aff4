//! The gate models what a `#[retry_policy]` without arguments does (RETRY007, RETRY003/005/006
//! reasoning); these are the runtime's real defaults, pinned so the two cannot drift.

use idemgate_rules::defaults;

#[test]
fn the_gate_knows_the_runtime_defaults() {
    let p = idemgate::RetryPolicy::new();
    assert_eq!(u64::from(p.attempts_limit()), defaults::MAX_ATTEMPTS);
    assert_eq!(p.budget_name(), Some(defaults::BUDGET));
    // base, cap and max_elapsed are private; their Debug form is the runtime's own account
    let shown = format!("{p:?}");
    let ms = |n: u64| format!("{:?}", std::time::Duration::from_millis(n));
    assert!(
        shown.contains(&format!("base: {}", ms(defaults::BASE_MS))),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("cap: {}", ms(defaults::CAP_MS))),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "max_elapsed: Some({})",
            ms(defaults::MAX_ELAPSED_MS)
        )),
        "{shown}"
    );
}

#[test]
fn the_gate_knows_the_default_key_retention() {
    let o = idemgate::idempotency::Options::new();
    assert_eq!(
        o.retention,
        std::time::Duration::from_secs(defaults::IDEMPOTENCY_RETENTION_SECS)
    );
}
