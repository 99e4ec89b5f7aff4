//! Argument parsing shared by the three attributes: `name`, `name = value`, positional idents.
//!
//! Every attribute accepts a comma-separated list of `ident` or `ident = expr`. Validation
//! (which names exist, what values they take) happens per attribute, so that all errors of
//! one attribute are collected and reported together, each spanned on the offending token.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr, Token};

/// One attribute argument: `name` or `name = value`.
pub(crate) struct Arg {
    pub(crate) name: Ident,
    pub(crate) value: Option<Expr>,
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse::<Expr>()?)
        } else {
            None
        };
        Ok(Arg { name, value })
    }
}

/// Parses the whole argument list of an attribute.
pub(crate) fn parse_args(tokens: TokenStream) -> syn::Result<Vec<Arg>> {
    let parser = Punctuated::<Arg, Token![,]>::parse_terminated;
    let list = syn::parse::Parser::parse2(parser, tokens)?;
    Ok(list.into_iter().collect())
}

/// Collects errors so that every problem of one attribute is reported in one compile.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(existing) => existing.combine(error),
            None => self.combined = Some(error),
        }
    }

    pub(crate) fn spanned<T: ToTokens>(&mut self, tokens: T, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.combined {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// Tracks which names were seen so duplicates are rejected, spanned on the duplicate.
pub(crate) struct Seen {
    attribute: &'static str,
    valid: &'static [&'static str],
    names: Vec<String>,
}

impl Seen {
    pub(crate) fn new(attribute: &'static str, valid: &'static [&'static str]) -> Self {
        Seen {
            attribute,
            valid,
            names: Vec::new(),
        }
    }

    /// Returns the argument name when it is known and seen for the first time.
    pub(crate) fn accept(&mut self, arg: &Arg, errors: &mut Errors) -> Option<String> {
        let name = arg.name.to_string();
        if !self.valid.contains(&name.as_str()) {
            errors.spanned(
                &arg.name,
                format!(
                    "unknown argument `{name}` for #[{}]; valid arguments are: {}",
                    self.attribute,
                    self.valid.join(", ")
                ),
            );
            return None;
        }
        if self.names.contains(&name) {
            errors.spanned(
                &arg.name,
                format!("duplicate argument `{name}` in #[{}]", self.attribute),
            );
            return None;
        }
        self.names.push(name.clone());
        Some(name)
    }
}

/// The value of `name = value`, or an error spanned on the name when it is missing.
pub(crate) fn require_value<'a>(
    arg: &'a Arg,
    expected: &str,
    errors: &mut Errors,
) -> Option<&'a Expr> {
    match &arg.value {
        Some(value) => Some(value),
        None => {
            errors.spanned(
                &arg.name,
                format!("`{}` needs a value: `{} = {expected}`", arg.name, arg.name),
            );
            None
        }
    }
}

/// `name` without a value (a flag); a value is an error spanned on the value.
pub(crate) fn require_flag(arg: &Arg, errors: &mut Errors) -> bool {
    match &arg.value {
        Some(value) => {
            errors.spanned(
                value,
                format!("`{}` is a flag and takes no value", arg.name),
            );
            false
        }
        None => true,
    }
}

pub(crate) fn lit_str(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s),
        Expr::Group(group) => lit_str(&group.expr),
        _ => None,
    }
}

pub(crate) fn lit_int(expr: &Expr) -> Option<&LitInt> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => Some(i),
        Expr::Group(group) => lit_int(&group.expr),
        _ => None,
    }
}

/// A string literal argument, or an error spanned on the value.
pub(crate) fn string_value(arg: &Arg, example: &str, errors: &mut Errors) -> Option<LitStr> {
    let value = require_value(arg, example, errors)?;
    match lit_str(value) {
        Some(lit) => Some(lit.clone()),
        None => {
            errors.spanned(
                value,
                format!(
                    "`{}` expects a string literal, e.g. `{} = {example}`",
                    arg.name, arg.name
                ),
            );
            None
        }
    }
}

/// A duration checked at compile time, as whole milliseconds.
pub(crate) struct DurationArg {
    pub(crate) millis: u64,
    pub(crate) span: Span,
}

impl DurationArg {
    pub(crate) fn tokens(&self) -> TokenStream {
        let millis = self.millis;
        quote::quote_spanned! {self.span=> ::core::time::Duration::from_millis(#millis) }
    }
}

/// `name = "200ms"`: parsed at compile time; zero and malformed durations are errors.
pub(crate) fn duration_value(arg: &Arg, example: &str, errors: &mut Errors) -> Option<DurationArg> {
    let lit = string_value(arg, example, errors)?;
    match parse_duration(&lit.value()) {
        Ok(0) => {
            errors.spanned(&lit, format!("`{}` must be greater than zero", arg.name));
            None
        }
        Ok(millis) => Some(DurationArg {
            millis,
            span: lit.span(),
        }),
        Err(why) => {
            errors.spanned(
                &lit,
                format!(
                    "invalid duration {:?} for `{}`: {why}; expected a number and a unit (ms, s, m, h, d), e.g. \"200ms\", \"5s\", \"15m\", \"24h\"",
                    lit.value(),
                    arg.name
                ),
            );
            None
        }
    }
}

/// Parses `"200ms"`, `"5s"`, `"15m"`, `"24h"`, `"1d"` and sums like `"1h30m"` into milliseconds.
pub(crate) fn parse_duration(text: &str) -> Result<u64, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err("it is empty");
    }
    let bytes = text.as_bytes();
    let mut total: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err("a number must come before each unit");
        }
        let number: u64 = text[start..i]
            .parse()
            .map_err(|_| "the number is too large")?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let factor: u64 = match &text[unit_start..i] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" if i < bytes.len() => return Err("unexpected character after the number"),
            "" => return Err("the unit is missing"),
            _ => return Err("unknown unit"),
        };
        let part = number.checked_mul(factor).ok_or("it is too large")?;
        total = total.checked_add(part).ok_or("it is too large")?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("200ms"), Ok(200));
        assert_eq!(parse_duration("5s"), Ok(5_000));
        assert_eq!(parse_duration("15m"), Ok(900_000));
        assert_eq!(parse_duration("24h"), Ok(86_400_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("5 sec").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}
