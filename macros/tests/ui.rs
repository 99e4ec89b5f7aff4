//! trybuild suites: every compile error of the three attributes (tests/ui/fail, one file per
//! error with its .stderr snapshot) and the forms that must compile (tests/ui/pass).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
