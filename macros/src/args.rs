//! Argument parsing shared by the three attributes: `name`, `name = value`, positional idents.
//!
//! Every attribute accepts a comma-separated list of `ident` or `ident = expr`. Validation
//! (which names exist, what values they take) happens per attribute, so that all errors of
//! one attribute are collected and reported together, each spanned on the offending token.

use idemgate_grammar::attributes::Attribute;
use idemgate_grammar::duration;
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
    attribute: &'static Attribute,
    names: Vec<String>,
}

impl Seen {
    /// Names are checked against the attribute's grammar (`idemgate_grammar::attributes`).
    pub(crate) fn new(attribute: &'static Attribute) -> Self {
        Seen {
            attribute,
            names: Vec::new(),
        }
    }

    /// Returns the argument name when it is known and seen for the first time.
    pub(crate) fn accept(&mut self, arg: &Arg, errors: &mut Errors) -> Option<String> {
        let name = arg.name.to_string();
        if !self.attribute.names().any(|valid| valid == name) {
            errors.spanned(
                &arg.name,
                format!(
                    "unknown argument `{name}` for #[{}]; valid arguments are: {}",
                    self.attribute.name,
                    self.attribute.names_list()
                ),
            );
            return None;
        }
        if self.names.contains(&name) {
            errors.spanned(
                &arg.name,
                format!("duplicate argument `{name}` in #[{}]", self.attribute.name),
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

/// `name = "200ms"`: parsed at compile time in the one duration syntax the gate reads too
/// (`idemgate_grammar::duration`); zero and malformed durations are errors.
pub(crate) fn duration_value(arg: &Arg, example: &str, errors: &mut Errors) -> Option<DurationArg> {
    let lit = string_value(arg, example, errors)?;
    match duration::parse(&lit.value()) {
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
                    "invalid duration {:?} for `{}`: {why}; expected {}",
                    lit.value(),
                    arg.name,
                    duration::SYNTAX
                ),
            );
            None
        }
    }
}
