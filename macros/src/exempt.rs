//! `#[exempt(RULE, reason = "...")]`: a reviewed exception to one gate rule.
//!
//! It expands to the item unchanged; the gate reads it. What the macro enforces is that the
//! exception is explained: a missing or empty reason is a compile error, so an unexplained
//! exemption can never land.

use proc_macro2::TokenStream;

use idemgate_grammar::rules::is_rule_id;

use crate::args::{lit_str, parse_args, Errors};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = parse_args(args)?;
    let mut errors = Errors::default();
    let mut rules = Vec::new();
    let mut reason = None;

    for arg in &args {
        let name = arg.name.to_string();
        match (&arg.value, name.as_str()) {
            (None, _) if is_rule_id(&name) => {
                if rules.contains(&name) {
                    errors.spanned(&arg.name, format!("duplicate rule `{name}` in #[exempt]"));
                }
                rules.push(name);
            }
            (None, "reason") => errors.spanned(
                &arg.name,
                "`reason` needs a value: `reason = \"why this is safe without the rule\"`",
            ),
            (None, _) => errors.spanned(
                &arg.name,
                format!(
                    "`{name}` is not a rule id; expected an id like IDEM001 or GATE002 ({} and three digits) followed by `reason = \"...\"`",
                    idemgate_grammar::rules::PREFIXES.join(", ")
                ),
            ),
            (Some(value), "reason") => {
                if reason.is_some() {
                    errors.spanned(&arg.name, "duplicate argument `reason` in #[exempt]");
                    continue;
                }
                match lit_str(value) {
                    Some(lit) if lit.value().trim().is_empty() => errors.spanned(
                        lit,
                        "the reason of #[exempt] is empty; say why this item is safe without the rule",
                    ),
                    Some(lit) => reason = Some(lit.clone()),
                    None => errors.spanned(value, "`reason` expects a string literal"),
                }
            }
            (Some(_), _) => errors.spanned(
                &arg.name,
                format!("unknown argument `{name}` for #[exempt]; valid arguments are: a rule id (e.g. IDEM001), reason"),
            ),
        }
    }

    let positional = args.iter().any(|a| a.value.is_none() && a.name != "reason");
    if rules.is_empty() && !positional {
        errors.push(syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[exempt] needs the rule it exempts from, e.g. #[exempt(IDEM001, reason = \"...\")]",
        ));
    }
    let had_reason_arg = args.iter().any(|a| a.name == "reason");
    if reason.is_none() && !had_reason_arg {
        errors.push(syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[exempt] needs a reason: #[exempt(IDEM001, reason = \"why this is safe without the rule\")]; an exemption without a reason does not exempt",
        ));
    }
    errors.finish()?;
    Ok(item)
}
